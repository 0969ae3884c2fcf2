using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeGate.Core.Commands;
using EdgeGate.Mqtt;
using Spectre.Console;

namespace EdgeGate.Cli;

/// <summary>One broker connection that signs commands and waits for each reply (<c>edgegate admin</c>).</summary>
public sealed class AdminClient : IDisposable
{
    private readonly MosquittoClient _client;
    private readonly byte[] _key;
    private readonly string _base;
    private readonly string _device;
    private readonly ManualResetEventSlim _connected = new();
    private readonly Dictionary<string, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly Dictionary<string, TaskCompletionSource> _subscribed = new();
    private readonly Lock _gate = new();

    public AdminClient(string host, int port, string prefix, string device, byte[] key, string? username = null, string? password = null)
    {
        _key = key;
        _device = device;
        _base = $"{prefix}/{device}";
        _client = new MosquittoClient(new MqttClientOptions
        {
            Host = host,
            Port = port,
            ClientId = $"edgegate-admin-{Guid.NewGuid():N}",
            Username = username,
            Password = password,
            ProtocolVersion = MqttProtocolVersion.V5,
        });
        _client.Connected += (_, _) => _connected.Set();
        _client.Subscribed += (_, e) =>
        {
            lock (_gate) if (_subscribed.Remove(e.Filter, out var tcs)) tcs.TrySetResult();
        };
        _client.MessageReceived += (_, e) =>
        {
            var id = e.Topic[(e.Topic.LastIndexOf('/') + 1)..];
            TaskCompletionSource<JsonObject>? tcs;
            lock (_gate) _pending.Remove(id, out tcs);
            try { tcs?.TrySetResult(JsonNode.Parse(e.Payload)!.AsObject()); }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException) { tcs?.TrySetException(ex); }
        };
    }

    public void Connect(TimeSpan timeout)
    {
        _client.Start();
        if (!_connected.Wait(timeout)) throw new CliError("broker_unreachable", "no connection to the broker");
    }

    /// <summary>Signs and sends one command; returns its reply (<c>{"request_id","ok",…}</c>).</summary>
    public JsonObject Send(string verb, JsonObject args, TimeSpan timeout)
    {
        var requestId = $"adm-{Guid.NewGuid():N}";
        var replyTopic = $"{_base}/reply/{requestId}";
        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _pending[requestId] = reply;
            _subscribed[replyTopic] = subscribed;
        }
        try
        {
            _client.Subscribe(replyTopic, qos: 1);
            if (!subscribed.Task.Wait(timeout)) throw new CliError("timeout", "the broker did not confirm the reply subscription");
            var payload = CommandProtocol.Sign(_key, requestId, verb, _device, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), CommandProtocol.NewNonce(), args);
            _client.Publish($"{_base}/cmd/{verb}", payload, qos: 1);
            if (!reply.Task.Wait(timeout)) throw new CliError("timeout", $"no reply from {_device} within {timeout.TotalSeconds:0} s (is it running, with commands on?)");
            return reply.Task.Result;
        }
        finally
        {
            lock (_gate) { _pending.Remove(requestId); _subscribed.Remove(replyTopic); }
            try { _client.Unsubscribe(replyTopic); } catch (MosquittoException) { }
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _connected.Dispose();
    }
}

/// <summary><c>edgegate admin &lt;verb&gt;</c>: the staff tool.</summary>
internal static class AdminCommand
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png"];

    public static Command Build(Option<bool> json)
    {
        var host = new Option<string>("--host") { Description = "broker host", Recursive = true, DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "broker port", Recursive = true, DefaultValueFactory = _ => 1883 };
        var prefix = new Option<string>("--prefix") { Description = "topic prefix", Recursive = true, DefaultValueFactory = _ => "edgegate" };
        var device = new Option<string>("--device") { Description = "the door's DeviceId", Recursive = true, DefaultValueFactory = _ => "gate-1" };
        var keyFile = new Option<string>("--key-file")
        {
            Description = "command key (hex or base64; chmod 600) — default $EDGEGATE_KEY_FILE",
            Recursive = true,
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("EDGEGATE_KEY_FILE") ?? "",
        };
        var username = new Option<string?>("--username") { Description = "broker user", Recursive = true };
        var password = new Option<string?>("--password") { Description = "broker password (or $EDGEGATE_MQTT_PASSWORD)", Recursive = true };
        var timeout = new Option<double>("--timeout") { Description = "seconds to wait for each reply", Recursive = true, DefaultValueFactory = _ => 60 };
        var admin = new Command("admin", "send signed commands to a running daemon over MQTT and print the replies") { host, port, prefix, device, keyFile, username, password, timeout };

        AdminClient Connect(ParseResult r)
        {
            var path = r.GetValue(keyFile);
            if (string.IsNullOrEmpty(path)) throw new CliError("no_key", "give --key-file or set EDGEGATE_KEY_FILE");
            byte[] key;
            try { key = CommandAuthenticator.LoadKeyFile(path); }
            catch (InvalidDataException e) { throw new CliError("bad_key", e.Message); }
            var client = new AdminClient(r.GetValue(host)!, r.GetValue(port), r.GetValue(prefix)!, r.GetValue(device)!, key,
                r.GetValue(username), r.GetValue(password) ?? Environment.GetEnvironmentVariable("EDGEGATE_MQTT_PASSWORD"));
            try { client.Connect(TimeSpan.FromSeconds(10)); }
            catch { client.Dispose(); throw; }
            return client;
        }

        void Add(Command c, Func<ParseResult, (string Verb, JsonObject Args)> request, Action<JsonObject>? print = null)
        {
            c.SetAction(r => Run(r, json, () =>
            {
                var (verb, args) = request(r);
                using var client = Connect(r);
                return client.Send(verb, args, TimeSpan.FromSeconds(r.GetValue(timeout)));
            }, print ?? (o => AnsiConsole.WriteLine(o.ToJsonString()))));
            admin.Subcommands.Add(c);
        }

        var id = new Option<string>("--id") { Description = "person id", Required = true };
        var name = new Option<string>("--name") { Description = "display name", Required = true };
        var images = new Argument<string[]>("images") { Description = "JPEG/PNG photos with one face each", Arity = ArgumentArity.OneOrMore };
        var force = new Option<bool>("--force") { Description = "enrol even if a face matches someone else" };
        Add(new Command("enrol", "enrol a person from photos (all must be usable, or nothing is written)") { id, name, images, force },
            r => ("enrol", new JsonObject { ["id"] = r.GetValue(id), ["name"] = r.GetValue(name), ["images"] = Images(r.GetValue(images)!), ["force"] = r.GetValue(force) }));

        var camId = new Argument<string>("id") { Description = "person id" };
        var camName = new Argument<string>("name") { Description = "display name" };
        var camFrames = new Option<int>("--frames") { Description = "good frames to collect (1..20)", DefaultValueFactory = _ => 5 };
        var camTimeout = new Option<int>("--within") { Description = "seconds the door may take to collect them (1..60; keep --timeout above it)", DefaultValueFactory = _ => 15 };
        var camForce = new Option<bool>("--force") { Description = "enrol even if the face matches someone else" };
        Add(new Command("enrol-camera", "enrol the one person in front of the door's camera from its next good frames") { camId, camName, camFrames, camTimeout, camForce },
            r => ("enrol_from_camera", new JsonObject
            {
                ["id"] = r.GetValue(camId), ["name"] = r.GetValue(camName), ["frames"] = r.GetValue(camFrames),
                ["timeout_s"] = r.GetValue(camTimeout), ["force"] = r.GetValue(camForce),
            }));

        var addId = new Option<string>("--id") { Description = "person id", Required = true };
        var addImages = new Argument<string[]>("images") { Description = "JPEG/PNG photos", Arity = ArgumentArity.OneOrMore };
        var addForce = new Option<bool>("--force") { Description = "add even if a face matches someone else" };
        Add(new Command("add-images", "add photos to an enrolled person") { addId, addImages, addForce },
            r => ("add_images", new JsonObject { ["id"] = r.GetValue(addId), ["images"] = Images(r.GetValue(addImages)!), ["force"] = r.GetValue(addForce) }));

        var offset = new Option<int>("--offset") { DefaultValueFactory = _ => 0 };
        var limit = new Option<int>("--limit") { DefaultValueFactory = _ => 500 };
        Add(new Command("list", "list enrolled people (a page)") { offset, limit },
            r => ("list", new JsonObject { ["offset"] = r.GetValue(offset), ["limit"] = r.GetValue(limit) }), PrintList);

        var getId = new Option<string>("--id") { Description = "person id", Required = true };
        Add(new Command("get", "one person") { getId }, r => ("get", new JsonObject { ["id"] = r.GetValue(getId) }));

        var delId = new Option<string>("--id") { Description = "person id", Required = true };
        Add(new Command("delete", "remove a person and all their templates") { delId }, r => ("delete", new JsonObject { ["id"] = r.GetValue(delId) }));

        var reason = new Option<string>("--reason") { Description = "why (goes into the access event)", Required = true };
        Add(new Command("unlock", "open the door once (remote unlock, logged with the reason)") { reason }, r => ("unlock", new JsonObject { ["reason"] = r.GetValue(reason) }));
        Add(new Command("relock", "end the current pulse now"), _ => ("relock", new JsonObject()));
        Add(new Command("selftest", "models, camera, door and broker state"), _ => ("selftest", new JsonObject()));

        var updId = new Option<string>("--id") { Description = "person id", Required = true };
        var updName = new Option<string?>("--name") { Description = "new display name" };
        var updEnabled = new Option<bool?>("--enabled") { Description = "true or false" };
        var updFrom = new Option<string?>("--valid-from") { Description = "ISO 8601 time, or 'none' to clear" };
        var updUntil = new Option<string?>("--valid-until") { Description = "ISO 8601 time, or 'none' to clear" };
        var updSchedule = new Option<string?>("--schedule")
        {
            Description = "weekly schedule as JSON in the door's time zone, e.g. '{\"mon\":[\"08:00-18:00\"],\"sat\":[\"22:00-06:00\"]}', or 'none' to clear",
        };
        Add(new Command("update", "change name, enabled, validity, schedule") { updId, updName, updEnabled, updFrom, updUntil, updSchedule }, r =>
        {
            var args = new JsonObject { ["id"] = r.GetValue(updId) };
            if (r.GetValue(updName) is { } n) args["name"] = n;
            if (r.GetValue(updEnabled) is { } e) args["enabled"] = e;
            if (r.GetValue(updFrom) is { } f) args["valid_from"] = f == "none" ? null : f;
            if (r.GetValue(updUntil) is { } u) args["valid_until"] = u == "none" ? null : u;
            if (r.GetValue(updSchedule) is { } sc)
            {
                try { args["schedule"] = sc == "none" ? null : JsonNode.Parse(sc); }
                catch (System.Text.Json.JsonException je) { throw new CliError("bad_schedule", $"--schedule is not JSON: {je.Message}"); }
            }
            return ("update", args);
        });

        var root = new Argument<string>("dir") { Description = "a folder per person: DIR/<person_id>/*.jpg|png (name = id with '_' as spaces)" };
        var import = new Command("import", "enrol a folder-per-person tree, one enrol command per person, with progress") { root };
        import.SetAction(r => Run(r, json, () =>
        {
            var dir = r.GetValue(root)!;
            if (!Directory.Exists(dir)) throw new CliError("not_found", $"no such directory: {dir}");
            var folders = Directory.GetDirectories(dir).OrderBy(d => d, StringComparer.Ordinal).ToList();
            using var client = Connect(r);
            var enrolled = new JsonArray();
            var failed = new JsonArray();
            var skipped = new JsonArray();
            var imagesSent = 0;
            var started = DateTime.UtcNow;
            void All(Action? step)
            {
                foreach (var folder in folders)
                {
                    var files = Directory.GetFiles(folder).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                        .OrderBy(f => f, StringComparer.Ordinal).Take(20).ToArray();
                    var pid = Path.GetFileName(folder);
                    if (files.Length == 0) { failed.Add(new JsonObject { ["id"] = pid, ["code"] = "no_images" }); step?.Invoke(); continue; }
                    var reply = client.Send("enrol", new JsonObject { ["id"] = pid, ["name"] = pid.Replace('_', ' '), ["images"] = Images(files) },
                        TimeSpan.FromSeconds(r.GetValue(timeout)));
                    // Like `edgegate import`: photos that are unusable on their own (several faces, blur, pose …) are
                    // skipped and listed, and the person is enrolled from the rest. A face that belongs to someone
                    // else is not skipped: that needs a human (or --force on enrol).
                    if ((bool?)reply["ok"] != true && reply["error"]?["details"] is JsonArray problems
                        && problems.All(d => (string?)d!["code"] is { } code && code != CommandErrors.AlreadyEnrolledAs && d["image"] is not null))
                    {
                        var bad = problems.Select(d => (int)d!["image"]!).ToHashSet();
                        foreach (var d in problems) skipped.Add(new JsonObject { ["image"] = files[(int)d!["image"]!], ["code"] = d["code"]!.DeepClone() });
                        files = files.Where((_, k) => !bad.Contains(k)).ToArray();
                        if (files.Length > 0)
                            reply = client.Send("enrol", new JsonObject { ["id"] = pid, ["name"] = pid.Replace('_', ' '), ["images"] = Images(files) },
                                TimeSpan.FromSeconds(r.GetValue(timeout)));
                    }
                    if ((bool?)reply["ok"] == true) { enrolled.Add(pid); imagesSent += files.Length; }
                    else failed.Add(new JsonObject { ["id"] = pid, ["error"] = reply["error"]?.DeepClone() });
                    step?.Invoke();
                }
            }
            if (!r.GetValue(json) && !Console.IsOutputRedirected)
                AnsiConsole.Progress().Start(ctx =>
                {
                    var task = ctx.AddTask("enrolling", maxValue: folders.Count);
                    All(() => task.Increment(1));
                });
            else All(null);
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            return new JsonObject
            {
                ["ok"] = true,
                ["result"] = new JsonObject
                {
                    ["people"] = enrolled.Count, ["images"] = imagesSent, ["seconds"] = Math.Round(seconds, 2),
                    ["images_per_second"] = seconds > 0 ? Math.Round(imagesSent / seconds, 2) : null,
                    ["enrolled"] = enrolled, ["skipped_images"] = skipped, ["failed"] = failed,
                },
            };
        }, o => AnsiConsole.WriteLine(o.ToJsonString())));
        admin.Subcommands.Add(import);
        return admin;
    }

    private static JsonArray Images(IEnumerable<string> paths) =>
        new(paths.Select(p => (JsonNode)Convert.ToBase64String(File.Exists(p) ? File.ReadAllBytes(p) : throw new CliError("not_found", $"no such file: {p}"))!).ToArray());

    private static void PrintList(JsonObject reply)
    {
        var result = reply["result"]!;
        var table = new Table().AddColumns("id", "name", "enabled", "templates", "valid from", "valid until");
        foreach (var p in result["persons"]!.AsArray())
            table.AddRow(Markup.Escape((string)p!["id"]!), Markup.Escape((string)p["name"]!), p["enabled"]!.ToString(),
                p["templates"]!.ToString(), (string?)p["valid_from"] ?? "-", (string?)p["valid_until"] ?? "-");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{result["persons"]!.AsArray().Count} of {result["total"]} shown (offset {result["offset"]})");
    }

    /// <summary>Prints the reply (JSON or text); exit 0 when the daemon said ok, 1 otherwise.</summary>
    private static int Run(ParseResult r, Option<bool> json, Func<JsonObject> send, Action<JsonObject> print)
    {
        var asJson = r.GetValue(json);
        try
        {
            var reply = send();
            var ok = (bool?)reply["ok"] == true;
            if (asJson) CliOutput.WriteJson(reply);
            else if (ok) print(reply);
            else
            {
                var error = reply["error"]!;
                AnsiConsole.MarkupLine($"[red]error[/] ({Markup.Escape((string?)error["code"] ?? "?")}): {Markup.Escape((string?)error["message"] ?? "")}");
                if (error["details"] is JsonArray details)
                    foreach (var d in details) AnsiConsole.MarkupLine($"  image {d!["image"]}: {d["code"]} {Markup.Escape((string?)d["message"] ?? "")}");
            }
            return ok ? 0 : 1;
        }
        catch (CliError e) { return CliOutput.Fail(asJson, e.Code, e.Message); }
        catch (MosquittoException e) { return CliOutput.Fail(asJson, "mqtt", e.Message); }
        catch (MqttOptionsException e) { return CliOutput.Fail(asJson, "bad_option", string.Join("; ", e.Errors)); }
    }
}
