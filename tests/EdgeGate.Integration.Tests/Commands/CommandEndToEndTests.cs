using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeGate.Core.Commands;
using EdgeGate.Integration.Tests.Mqtt;
using EdgeGate.Mqtt;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Commands;

/// <summary>
/// Signed commands against the daemon as a process (real mosquitto, ONNX Runtime, GStreamer test camera, simulated door).
/// </summary>
public sealed class CommandEndToEndTests : IClassFixture<CommandDaemon>
{
    private readonly CommandDaemon _d;
    private readonly ITestOutputHelper _output;
    private readonly string? _faces;

    public CommandEndToEndTests(CommandDaemon daemon, ITestOutputHelper output)
    {
        _d = daemon;
        _output = output;
        _faces = TestData.FacesOrSkip(output);
        if (_faces is not null) _d.EnsureStarted(output);
    }

    private string Photo(string relative) => CommandDaemon.B64(Path.Combine(_faces!, "people", relative));

    private static string Code(JsonObject reply)
    {
        Assert.False((bool)reply["ok"]!, $"expected an error, got {reply.ToJsonString()}");
        return (string)reply["error"]!["code"]!;
    }

    private static JsonObject Ok(JsonObject reply)
    {
        Assert.True((bool)reply["ok"]!, reply.ToJsonString());
        return reply["result"]!.AsObject();
    }

    private List<JsonElement> SecurityEvents() =>
        _d.Messages.Where(m => m.Topic == $"{_d.Base}/event/security").Select(m => JsonDocument.Parse(m.Payload).RootElement.Clone()).ToList();

    [Fact]
    public void Enrol_Get_List_Update_AddImages_Delete_RoundTrip()
    {
        if (_faces is null) return;
        var enrolled = Ok(_d.Call("enrol", new JsonObject
        {
            ["id"] = "rt-angelina", ["name"] = "Angelina", ["images"] = new JsonArray(Photo("Angelina_Jolie/9.jpg")),
        }));
        Assert.Equal(("rt-angelina", true, 1), ((string)enrolled["id"]!, (bool)enrolled["created"]!, (int)enrolled["templates_added"]!));

        var got = Ok(_d.Call("get", new JsonObject { ["id"] = "rt-angelina" }));
        Assert.Equal(("Angelina", true, 1), ((string)got["name"]!, (bool)got["enabled"]!, (int)got["templates"]!));

        var list = Ok(_d.Call("list", new JsonObject { ["limit"] = 500 }));
        Assert.Contains(list["persons"]!.AsArray(), p => (string)p!["id"]! == "rt-angelina");
        Assert.Equal((int)list["total"]!, list["persons"]!.AsArray().Count);
        var page = Ok(_d.Call("list", new JsonObject { ["offset"] = (int)list["total"]!, ["limit"] = 10 }));
        Assert.Empty(page["persons"]!.AsArray());

        var updated = Ok(_d.Call("update", new JsonObject { ["id"] = "rt-angelina", ["name"] = "A. Jolie", ["enabled"] = false, ["valid_until"] = "2030-01-01T00:00:00Z" }));
        Assert.Equal(("A. Jolie", false, "2030-01-01T00:00:00.0000000Z"), ((string)updated["name"]!, (bool)updated["enabled"]!, (string?)updated["valid_until"]));
        var cleared = Ok(_d.Call("update", new JsonObject { ["id"] = "rt-angelina", ["valid_until"] = null }));
        Assert.Null((string?)cleared["valid_until"]);
        Assert.Equal("A. Jolie", (string)cleared["name"]!);

        var added = Ok(_d.Call("add_images", new JsonObject { ["id"] = "rt-angelina", ["images"] = new JsonArray(Photo("Angelina_Jolie/3.jpg")) }));
        Assert.Equal(2, (int)added["templates_total"]!);

        Assert.True((bool)Ok(_d.Call("delete", new JsonObject { ["id"] = "rt-angelina" }))["deleted"]!);
        Assert.Equal(CommandErrors.NotFound, Code(_d.Call("get", new JsonObject { ["id"] = "rt-angelina" })));
        Assert.Equal(CommandErrors.NotFound, Code(_d.Call("delete", new JsonObject { ["id"] = "rt-angelina" })));
    }

    [Fact]
    public void Unlock_PulsesTheRelay_AndIsAnAccessEventWithTheReason_Relock_EndsIt()
    {
        if (_faces is null) return;
        var result = Ok(_d.Call("unlock", new JsonObject { ["reason"] = "delivery at the back door" }));
        Assert.True((bool)result["unlocked"]!);
        Wait.Until(() => _d.Messages.Any(m => m.Topic == $"{_d.Base}/event/access" && Encoding.UTF8.GetString(m.Payload).Contains("delivery at the back door")),
            "the remote unlock access event");
        var access = _d.Messages.Where(m => m.Topic == $"{_d.Base}/event/access").Select(m => JsonDocument.Parse(m.Payload).RootElement)
            .Last(e => e.TryGetProperty("reason", out var r) && r.GetString() == "remote_unlock");
        Assert.Equal("granted", access.GetProperty("decision").GetString());
        Assert.Equal("delivery at the back door", access.GetProperty("detail").GetString());
        Wait.Until(() => _d.Messages.Any(m => m.Topic == $"{_d.Base}/event/door" && Encoding.UTF8.GetString(m.Payload).Contains("remote: delivery")),
            "relay_energised with the remote cause");

        Ok(_d.Call("unlock", new JsonObject { ["reason"] = "held for relock" }));
        Assert.True((bool)Ok(_d.Call("relock", new JsonObject()))["relocked"]!);
        Wait.Until(() => _d.Messages.Any(m => m.Topic == $"{_d.Base}/event/door" && Encoding.UTF8.GetString(m.Payload).Contains("\"relock\"")),
            "relay_released by relock");
        Assert.Equal(CommandErrors.MissingField, Code(_d.Call("unlock", new JsonObject())));
    }

    [Fact]
    public void Selftest_ReportsModelsCameraDoorAndBroker()
    {
        if (_faces is null) return;
        var r = Ok(_d.Call("selftest", new JsonObject()));
        Assert.True((bool)r["door_ready"]!);
        Assert.True((bool)r["broker_connected"]!);
        Assert.NotNull((string?)r["camera"]);
        Assert.NotNull(r["models_loaded"]);
        Assert.NotNull(r["gallery_people"]);
        // The shared checks of `edgegate selftest`, plus the daemon's own view of the camera, door and broker.
        var checks = r["checks"]!.AsArray().Select(c => c!.AsObject()).ToDictionary(c => (string)c["name"]!);
        Assert.Equal(["clock", "disk", "storage", "models", "inference", "camera", "gpio", "broker"], checks.Keys);
        Assert.Equal("pass", (string)checks["models"]["status"]!);
        Assert.Equal("pass", (string)checks["gpio"]["status"]!);
        Assert.Contains("held by the daemon", (string)checks["gpio"]["detail"]!);
        Assert.Equal("pass", (string)checks["broker"]["status"]!);
    }

    [Fact]
    public void BadInputs_GetTheirStableCodes_AndAFailedEnrolLeavesTheGalleryAsItWas()
    {
        if (_faces is null) return;
        Assert.Equal(CommandErrors.UnknownVerb, Code(_d.Call("frobnicate", new JsonObject())));
        Assert.Equal(CommandErrors.MissingField, Code(_d.Call("enrol", new JsonObject { ["id"] = "bad-1", ["images"] = new JsonArray(Photo("Angelina_Jolie/9.jpg")) })));
        Assert.Equal(CommandErrors.MissingField, Code(_d.Call("enrol", new JsonObject { ["id"] = "bad-1", ["name"] = "x", ["images"] = new JsonArray() })));
        Assert.Equal(CommandErrors.BadField, Code(_d.Call("get", new JsonObject { ["id"] = 42 })));
        Assert.Equal(CommandErrors.BadField, Code(_d.Call("list", new JsonObject { ["limit"] = 100000 })));
        Assert.Equal(CommandErrors.MissingField, Code(_d.Call("update", new JsonObject { ["id"] = "nobody" })));
        Assert.Equal(CommandErrors.NotFound, Code(_d.Call("update", new JsonObject { ["id"] = "nobody", ["enabled"] = false })));
        Assert.Equal(CommandErrors.NotFound, Code(_d.Call("add_images", new JsonObject { ["id"] = "nobody", ["images"] = new JsonArray(Photo("Angelina_Jolie/9.jpg")) })));

        // Per-image codes; one good image among bad ones still enrols nothing.
        var mixed = _d.Call("enrol", new JsonObject
        {
            ["id"] = "bad-2", ["name"] = "Mixed",
            ["images"] = new JsonArray(Photo("Barack_Obama/5.jpg"), "%%% not base64 %%%", Convert.ToBase64String("hello, not an image"u8.ToArray()),
                Convert.ToBase64String(CommandDaemon.GreyPng())),
        });
        Assert.Equal(CommandErrors.BadBase64, Code(mixed));
        var details = mixed["error"]!["details"]!.AsArray().Select(d => ((int)d!["image"]!, (string)d["code"]!)).ToList();
        Assert.Equal([(1, "bad_base64"), (2, "image_unsupported"), (3, "no_face")], details);
        Assert.Equal(CommandErrors.NoFace, Code(_d.Call("enrol", new JsonObject
            { ["id"] = "bad-2", ["name"] = "Grey", ["images"] = new JsonArray(Convert.ToBase64String(CommandDaemon.GreyPng())) })));
        Assert.Equal(CommandErrors.NotFound, Code(_d.Call("get", new JsonObject { ["id"] = "bad-2" })));

        // A face that belongs to someone else: refused with their id, unless forced.
        Ok(_d.Call("enrol", new JsonObject { ["id"] = "dup-owner", ["name"] = "Owner", ["images"] = new JsonArray(Photo("Barack_Obama/5.jpg")) }));
        var dup = _d.Call("enrol", new JsonObject { ["id"] = "dup-thief", ["name"] = "Thief", ["images"] = new JsonArray(Photo("Barack_Obama/5.jpg")) });
        Assert.Equal(CommandErrors.AlreadyEnrolledAs, Code(dup));
        Assert.Equal("dup-owner", (string)dup["error"]!["person_id"]!);
        Assert.Equal(CommandErrors.NotFound, Code(_d.Call("get", new JsonObject { ["id"] = "dup-thief" })));
        Assert.Equal(CommandErrors.AlreadyExists, Code(_d.Call("enrol", new JsonObject { ["id"] = "dup-owner", ["name"] = "Again", ["images"] = new JsonArray(Photo("Barack_Obama/5.jpg")) })));
        Ok(_d.Call("enrol", new JsonObject { ["id"] = "dup-thief", ["name"] = "Forced", ["force"] = true, ["images"] = new JsonArray(Photo("Barack_Obama/5.jpg")) }));
        Ok(_d.Call("delete", new JsonObject { ["id"] = "dup-thief" }));
        Ok(_d.Call("delete", new JsonObject { ["id"] = "dup-owner" }));
    }

    [Fact]
    public void UnreadablePayloads_AreDroppedWithALoggedReason()
    {
        if (_faces is null) return;
        var before = _d.Daemon.CountLines(l => l.Contains("command dropped"));
        _d.Publish("get", "not json at all"u8.ToArray());
        _d.Publish("get", new byte[4_000_001]);
        _d.Publish("get", """{"signed":{"verb":"get"}}"""u8.ToArray());
        Wait.Until(() => _d.Daemon.CountLines(l => l.Contains("command dropped")) >= before + 3, "three dropped-command log lines");
        Assert.Contains(_d.Daemon.Lines, l => l.Contains("command dropped (payload_too_large)"));
        Assert.Contains(_d.Daemon.Lines, l => l.Contains("command dropped (bad_json)"));
        // Still serving.
        Ok(_d.Call("selftest", new JsonObject()));
    }

    [Fact]
    public void Unsigned_Forged_Stale_Replayed_AndMisaddressed_AreRefused_Logged_AndNotExecuted()
    {
        if (_faces is null) return;
        Ok(_d.Call("enrol", new JsonObject { ["id"] = "sec-target", ["name"] = "Target", ["images"] = new JsonArray(Photo("Angelina_Jolie/9.jpg")) }));
        var del = new JsonObject { ["id"] = "sec-target" };

        _d.Publish("delete", CommandProtocol.Envelope(Encoding.UTF8.GetBytes(
            new JsonObject
            {
                ["request_id"] = "sec-unsigned", ["verb"] = "delete", ["device"] = CommandDaemon.Device,
                ["ts"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["nonce"] = "n-unsigned-1", ["args"] = new JsonObject { ["id"] = "sec-target" },
            }.ToJsonString()), key: null));
        Assert.Equal(CommandErrors.Unauthenticated, Code(_d.WaitReply("sec-unsigned")));

        _d.Publish("delete", _d.Sign("sec-forged", "delete", del, key: new byte[32]));
        Assert.Equal(CommandErrors.BadSignature, Code(_d.WaitReply("sec-forged")));

        _d.Publish("delete", _d.Sign("sec-stale", "delete", del, ts: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600));
        Assert.Equal(CommandErrors.Stale, Code(_d.WaitReply("sec-stale")));

        _d.Publish("delete", _d.Sign("sec-future", "delete", del, ts: DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 600));
        Assert.Equal(CommandErrors.Stale, Code(_d.WaitReply("sec-future")));

        _d.Publish("delete", _d.Sign("sec-other-door", "delete", del, device: "another-door"));
        Assert.Equal(CommandErrors.WrongTarget, Code(_d.WaitReply("sec-other-door")));

        // A signed harmless "get" re-published on cmd/delete.
        _d.Publish("delete", _d.Sign("sec-moved", "get", del));
        Assert.Equal(CommandErrors.WrongTarget, Code(_d.WaitReply("sec-moved")));

        // A replayed get: the first copy runs, the second is refused.
        var get = _d.Sign("sec-replay", "get", del);
        _d.Publish("get", get);
        Assert.True((bool)_d.WaitReply("sec-replay")["ok"]!);
        _d.Publish("get", CommandProtocol.Envelope(Encoding.UTF8.GetBytes("{\"request_id\":\"sec-sync\"}"), null)); // a marker after the replay
        _d.Publish("get", get);
        Wait.Until(() => _d.Messages.Count(m => m.Topic == $"{_d.Base}/reply/sec-replay") >= 2, "the reply to the replayed copy");
        var second = JsonNode.Parse(_d.Messages.Where(m => m.Topic == $"{_d.Base}/reply/sec-replay").Last().Payload)!.AsObject();
        Assert.Equal(CommandErrors.Replayed, Code(second));

        // Nothing ran: the target is still there.
        Assert.Equal("Target", (string)Ok(_d.Call("get", new JsonObject { ["id"] = "sec-target" }))["name"]!);

        Wait.Until(() => SecurityEvents().Count(e => e.GetProperty("request_id").GetString()?.StartsWith("sec-") == true) >= 7, "the security events");
        var codes = SecurityEvents().Where(e => e.GetProperty("request_id").GetString()?.StartsWith("sec-") == true)
            .ToDictionary(e => e.GetProperty("request_id").GetString()!, e => e.GetProperty("code").GetString());
        Assert.Equal("unauthenticated", codes["sec-unsigned"]);
        Assert.Equal("bad_signature", codes["sec-forged"]);
        Assert.Equal("stale", codes["sec-stale"]);
        Assert.Equal("wrong_target", codes["sec-other-door"]);
        Assert.Equal("replayed", codes["sec-replay"]);
        Assert.Contains(_d.Daemon.Lines, l => l.Contains("security: command delete refused (bad_signature)"));
        Ok(_d.Call("delete", new JsonObject { ["id"] = "sec-target" }));
    }

    [Fact]
    public void Mqtt5ResponseTopic_GetsTheReplyWithTheCorrelationData()
    {
        if (_faces is null) return;
        var correlation = "corr-123"u8.ToArray();
        _d.Publish("selftest", _d.Sign("rt-1", "selftest", new JsonObject()), new MqttPublishProperties("tester/replies", correlation));
        var reply = _d.WaitReply("rt:rt-1");
        Assert.True((bool)reply["ok"]!);
        var message = _d.Messages.First(m => m.Topic == "tester/replies");
        Assert.Equal(correlation, message.CorrelationData);
        Assert.True(_d.HasReply("rt-1"), "the reply also goes to reply/<request_id>");
    }

    [Fact]
    public void EnrolFromCamera_WithNoFaceInView_TimesOut_WritesNothing_AndBadArgumentsAreRefused()
    {
        if (_faces is null) return;
        _d.WaitUntilRecognising();
        var reply = _d.Call("enrol_from_camera", new JsonObject { ["id"] = "cam-nobody", ["name"] = "Nobody", ["frames"] = 3, ["timeout_s"] = 2 });
        Assert.Equal(CommandErrors.Timeout, Code(reply));
        Assert.Equal((0, 3), ((int)reply["error"]!["collected"]!, (int)reply["error"]!["needed"]!));
        Assert.True((int?)reply["error"]!["ignored"]!["no_face"] > 0, reply.ToJsonString());
        Assert.Equal(CommandErrors.NotFound, Code(_d.Call("get", new JsonObject { ["id"] = "cam-nobody" })));
        // Progress was published while it looked (the test pattern has no face).
        Assert.Contains(_d.Messages, m => m.Topic == $"{_d.Base}/event/enrol_progress" && Encoding.UTF8.GetString(m.Payload).Contains("cam-nobody"));

        Assert.Equal(CommandErrors.BadField, Code(_d.Call("enrol_from_camera", new JsonObject { ["id"] = "x", ["name"] = "X", ["frames"] = 0 })));
        Assert.Equal(CommandErrors.BadField, Code(_d.Call("enrol_from_camera", new JsonObject { ["id"] = "x", ["name"] = "X", ["frames"] = 21 })));
        Assert.Equal(CommandErrors.BadField, Code(_d.Call("enrol_from_camera", new JsonObject { ["id"] = "x", ["name"] = "X", ["timeout_s"] = 61 })));
        Assert.Equal(CommandErrors.MissingField, Code(_d.Call("enrol_from_camera", new JsonObject { ["id"] = "x" })));
    }

    [Fact]
    public void Schedule_IsValidatedPerField_StoredAndShown_AndClearedWithNull()
    {
        if (_faces is null) return;
        Ok(_d.Call("enrol", new JsonObject { ["id"] = "sch-1", ["name"] = "Sched", ["images"] = new JsonArray(Photo("Angelina_Jolie/9.jpg")), ["force"] = true,
            ["schedule"] = JsonNode.Parse("""{"fri":["13:00-17:00","08:00-12:00"],"sat":["22:00-06:00"]}""") }));
        var got = Ok(_d.Call("get", new JsonObject { ["id"] = "sch-1" }));
        Assert.Equal("""{"fri":["08:00-12:00","13:00-17:00"],"sat":["22:00-06:00"]}""", got["schedule"]!.ToJsonString());

        var bad = _d.Call("update", new JsonObject { ["id"] = "sch-1", ["schedule"] = JsonNode.Parse("""{"mon":["8-18"],"xyz":[]}""") });
        Assert.Equal(CommandErrors.BadField, Code(bad));
        Assert.Equal(["schedule.mon[0]", "schedule.xyz"], bad["error"]!["details"]!.AsArray().Select(d => (string)d!["field"]!));
        Assert.Equal(["bad_range", "bad_day"], bad["error"]!["details"]!.AsArray().Select(d => (string)d!["code"]!));
        Assert.Equal(CommandErrors.BadField, Code(_d.Call("update", new JsonObject { ["id"] = "sch-1", ["schedule"] = new JsonObject() })));
        Assert.NotNull(Ok(_d.Call("get", new JsonObject { ["id"] = "sch-1" }))["schedule"]); // unchanged by the refusals

        var cleared = Ok(_d.Call("update", new JsonObject { ["id"] = "sch-1", ["schedule"] = null }));
        Assert.Null(cleared["schedule"]);
        Ok(_d.Call("delete", new JsonObject { ["id"] = "sch-1" }));
    }

    [Fact]
    public void Fuzz_MutatedAndRandomPayloads_AreEachAnsweredOrDroppedWithAReason_AndTheDaemonSurvives()
    {
        if (_faces is null) return;
        // 10,000 payloads, at most Window unanswered at a time: well inside the daemon's command queue (64), so each one
        // reaches the parser instead of being shed as "queue full" (those would still count as logged drops, but would
        // not test anything). Replies and "command dropped" log lines are reconciled as they arrive.
        const int n = 10_000;
        const int window = 32;
        var rng = new Random(20261122);
        string[] verbs = ["get", "list", "delete", "update", "unlock", "enrol", "add_images", "selftest", "relock", "bogus"];
        var repliesBefore = _d.ReplyCount;
        var dropped = 0;
        var queueFull = 0;
        var dropCodes = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        void OnLine(string line)
        {
            var at = line.IndexOf("command dropped", StringComparison.Ordinal);
            if (at < 0) return;
            Interlocked.Increment(ref dropped);
            if (line.Contains("queue full", StringComparison.Ordinal)) Interlocked.Increment(ref queueFull);
            var open = line.IndexOf('(', at);
            var close = open < 0 ? -1 : line.IndexOf(')', open);
            var code = open >= 0 && close > open ? line[(open + 1)..close] : "?";
            dropCodes.AddOrUpdate(code, 1, (_, c) => c + 1);
        }
        _d.Daemon.LineReceived += OnLine;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            int Settled() => _d.ReplyCount - repliesBefore + Volatile.Read(ref dropped);
            for (var i = 0; i < n; i++)
            {
                var verb = verbs[rng.Next(verbs.Length)];
                var args = new JsonObject { ["id"] = "fuzz-nobody", ["reason"] = "fuzz", ["offset"] = rng.Next(-5, 5) };
                if (rng.Next(8) == 0) args["schedule"] = JsonNode.Parse(RandomJson(rng, 0));
                var valid = _d.Sign($"fz-{i}", verb, args, key: rng.Next(4) == 0 ? CommandDaemon.Key : new byte[32]);
                byte[] payload = rng.Next(7) switch
                {
                    0 => RandomBytes(rng, rng.Next(0, 300)),
                    1 => valid[..rng.Next(valid.Length)],
                    2 => Flip(rng, valid, 1 + rng.Next(4)),
                    3 => Encoding.UTF8.GetBytes(RandomJson(rng, 0)),
                    4 => Encoding.UTF8.GetBytes($$"""{"signed":{"request_id":"fz-{{i}}","verb":"{{verb}}","args":{{RandomJson(rng, 0)}}},"sig":"{{Convert.ToBase64String(RandomBytes(rng, 32))}}"}"""),
                    5 => Splice(rng, valid, Encoding.UTF8.GetBytes(RandomJson(rng, 0))),
                    _ => valid,
                };
                _d.Publish(verb, payload);
                var deadline = clock.Elapsed + TimeSpan.FromSeconds(30);
                while (i + 1 - Settled() >= window)
                {
                    if (clock.Elapsed > deadline || _d.Daemon.HasExited)
                        throw new TimeoutException($"fuzz: {i + 1 - Settled()} payloads unanswered for 30 s after payload {i} on cmd/{verb} ({Convert.ToBase64String(payload)}); daemon exited: {_d.Daemon.HasExited}");
                    Thread.Sleep(1);
                }
            }
            Wait.Until(() => Settled() >= n, "every fuzz payload answered or dropped", TimeSpan.FromSeconds(60));
        }
        finally
        {
            _d.Daemon.LineReceived -= OnLine;
        }
        var replies = _d.ReplyCount - repliesBefore;
        _output.WriteLine($"fuzz: {n} payloads in {clock.Elapsed.TotalSeconds:F1} s ({n / clock.Elapsed.TotalSeconds:F0}/s): {replies} answered, " +
                          $"{dropped} dropped with a logged reason ({string.Join(", ", dropCodes.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}), 0 crashes");
        Assert.Equal(n, replies + dropped);
        Assert.Equal(0, queueFull);
        Assert.False(_d.Daemon.HasExited);
        Assert.True((bool)_d.Call("selftest", new JsonObject())["ok"]!);
        Assert.DoesNotContain(_d.Daemon.Lines, l => l.Contains("failed unexpectedly") || l.Contains("internal error"));
    }

    /// <summary>A valid payload with a random JSON value written over a random part of it.</summary>
    private static byte[] Splice(Random rng, byte[] valid, byte[] insert)
    {
        var at = rng.Next(valid.Length);
        var cut = Math.Min(valid.Length - at, rng.Next(0, 40));
        return [.. valid.AsSpan(0, at), .. insert, .. valid.AsSpan(at + cut)];
    }

    private (int Exit, string Stdout) Admin(params string[] args) => AdminWithKey(_d.KeyFile, args);

    private (int Exit, string Stdout) AdminWithKey(string keyFile, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Daemon.DaemonProcess.Dll, "admin", "--json", "--port", _d.Broker.Port.ToString(), "--device", CommandDaemon.Device,
                     "--key-file", keyFile }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        _output.WriteLine($"admin {string.Join(' ', args)} → {p.ExitCode}: {stdout}{stderr}");
        return (p.ExitCode, stdout);
    }

    [Fact]
    public void AdminTool_EnrolsFromFiles_ListsGetsUpdatesUnlocksAndDeletes()
    {
        if (_faces is null) return;
        var photo = Path.Combine(_faces, "people", "Barack_Obama", "5.jpg");
        var (exit, stdout) = Admin("enrol", "--id", "adm-obama", "--name", "Barack Obama", photo);
        Assert.Equal(0, exit);
        Assert.True((bool)JsonNode.Parse(stdout)!["ok"]!);
        (exit, stdout) = Admin("list");
        Assert.Equal(0, exit);
        Assert.Contains(JsonNode.Parse(stdout)!["result"]!["persons"]!.AsArray(), p => (string)p!["id"]! == "adm-obama");
        (exit, stdout) = Admin("update", "--id", "adm-obama", "--enabled", "false");
        Assert.Equal((0, false), (exit, (bool)JsonNode.Parse(stdout)!["result"]!["enabled"]!));
        Assert.Equal(0, Admin("unlock", "--reason", "admin tool test").Exit);
        Assert.Equal(0, Admin("delete", "--id", "adm-obama").Exit);
        (exit, stdout) = Admin("get", "--id", "adm-obama");
        Assert.Equal((1, "not_found"), (exit, (string?)JsonNode.Parse(stdout)!["error"]!["code"]));
        // A wrong key is refused by the daemon, and the tool says so.
        var wrongKey = Path.Combine(Path.GetDirectoryName(_d.KeyFile)!, "wrong.key");
        File.WriteAllText(wrongKey, new string('a', 64));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(wrongKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        (exit, stdout) = AdminWithKey(wrongKey, "selftest");
        Assert.Equal((1, "bad_signature"), (exit, (string?)JsonNode.Parse(stdout)!["error"]!["code"]));
    }

    private static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    private static byte[] Flip(Random rng, byte[] source, int flips)
    {
        var b = source.ToArray();
        for (var k = 0; k < flips; k++) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
        return b;
    }

    private static string RandomJson(Random rng, int depth) => (depth > 4 ? rng.Next(4) : rng.Next(7)) switch
    {
        0 => rng.Next().ToString(),
        1 => JsonSerializer.Serialize(Encoding.Latin1.GetString(RandomBytes(rng, rng.Next(0, 20)))),
        2 => "null",
        3 => rng.Next(2) == 0 ? "true" : "false",
        4 => "[" + string.Join(",", Enumerable.Range(0, rng.Next(4)).Select(_ => RandomJson(rng, depth + 1))) + "]",
        _ => "{" + string.Join(",", Enumerable.Range(0, rng.Next(4)).Select(_ =>
            JsonSerializer.Serialize(new[] { "signed", "sig", "request_id", "verb", "args", "id", "images", "ts", "nonce" }[rng.Next(9)]) + ":" + RandomJson(rng, depth + 1))) + "}",
    };
}
