using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EdgeGate.Door;
using EdgeGate.Door.Gpio;
using EdgeGate.Integration.Tests.Mqtt;
using EdgeGate.Mqtt;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Daemon;

/// <summary>
/// The daemon end to end: real GStreamer on the dev videos, real ONNX Runtime, a real mosquitto on a free loopback
/// port, the simulated GPIO chip observed through its state directory. The GRID clips pwij3p and id2_vcd_swwp2s show the
/// same speaker (cosine 0.94 between their frames); brbk7n shows a different one (0.14).
/// </summary>
public sealed class DaemonEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private const string Device = "e2e";
    private const int RelayLine = 17;
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-daemon-").FullName;
    private string SimDir => Path.Combine(_dir, "sim-gpio");

    private static string Video(string faces, string name) => Path.Combine(faces, "video", name);

    private IEnumerable<string> Settings(string source, int brokerPort, bool fast = true, params string[] more)
    {
        string[] baseSets =
        [
            $"DeviceId={Device}", $"Storage:Path={_dir}", $"Camera:Source={source}", $"Camera:RealTime={(!fast).ToString().ToLowerInvariant()}",
            "Door:Driver=sim", $"Door:SimulationStateDirectory={SimDir}", $"Door:RelayLine={RelayLine}", "Mqtt:Host=127.0.0.1", $"Mqtt:Port={brokerPort}",
            "TelemetrySeconds=0",
        ];
        return baseSets.Concat(more);
    }

    private void EnrolGridSpeaker(string faces)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { DaemonProcess.Dll, "enrol", "--json", "--gallery", Path.Combine(_dir, "gallery.db"), "--id", "grid", "--name", "GRID speaker",
                     "--frame-at", "1.0", Video(faces, "grid_pwij3p.mpg") })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        output.WriteLine($"enrol: {stdout}{p.StandardError.ReadToEnd()}");
        Assert.Equal(0, p.ExitCode);
    }

    private static List<JsonElement> Events(MqttProbe probe, string kind) =>
        probe.Messages.Where(m => m.Topic == $"edgegate/{Device}/event/{kind}")
            .Select(m => JsonDocument.Parse(m.Payload).RootElement.Clone()).ToList();

    /// <summary>Relay transitions the simulated chip wrote: (physical level) per change of the relay line.</summary>
    private List<bool> RelayLevels()
    {
        var log = Path.Combine(SimDir, "gpiochip0", "transitions.log");
        if (!File.Exists(log)) return [];
        return File.ReadAllLines(log).Select(l => l.Split(' ')).Where(f => f.Length >= 3 && f[1] == RelayLine.ToString())
            .Select(f => f[2] == "1").ToList();
    }

    private MqttProbe Subscriber(MosquittoBroker broker)
    {
        var probe = MqttProbe.Start(MqttProbe.Options(broker, "e2e-observer"), output, "observer");
        probe.SubscribeAndWait($"edgegate/{Device}/#");
        return probe;
    }

    [Fact]
    public void EnrolledPerson_InAnotherVideo_IsGranted_WithOneRelayPulse_AndTheEventOnTheBroker()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        using var broker = MosquittoBroker.Start(output);
        EnrolGridSpeaker(faces);
        using var probe = Subscriber(broker);
        probe.SubscribeAndWait("homeassistant/#");

        var exit = DaemonProcess.RunToExit(output, Settings(Video(faces, "grid_id2_vcd_swwp2s.mpg"), broker.Port, fast: true, "Camera:ExitAtEnd=true", "Door:PulseMs=500"), RunLimit, out var daemon);
        using var run = daemon;

        Assert.Equal(0, exit);
        Wait.Until(() => Events(probe, "access").Count >= 1 && Events(probe, "door").Count >= 2, "the access event and both relay events");
        var access = Assert.Single(Events(probe, "access"));
        Assert.Equal("granted", access.GetProperty("decision").GetString());
        Assert.Equal(JsonValueKind.Null, access.GetProperty("reason").ValueKind);
        Assert.Equal("grid", access.GetProperty("person").GetProperty("id").GetString());
        Assert.Equal("GRID speaker", access.GetProperty("person").GetProperty("name").GetString());
        Assert.Equal("live", access.GetProperty("liveness").GetProperty("state").GetString()); // liveness is on by default
        Assert.Equal(Device, access.GetProperty("device").GetString());
        Assert.True(access.GetProperty("similarity").GetDouble() >= 0.45);
        Assert.InRange(access.GetProperty("p_same").GetDouble(), 0.5, 1.0);
        Assert.True(access.GetProperty("latency_ms").GetDouble() > 0);
        Assert.True(Guid.TryParse(access.GetProperty("event_id").GetString(), out _));
        Assert.Equal(["relay_energised", "relay_released"], Events(probe, "door").Select(e => e.GetProperty("event").GetString()));
        // Exactly one pulse on the chip: energised once, released once, never energised again.
        Assert.Equal([true, false], RelayLevels());
        var status = probe.Messages.Where(m => m.Topic == $"edgegate/{Device}/status").Select(m => Encoding.UTF8.GetString(m.Payload)).ToList();
        Assert.Equal(["online", "offline"], status);
        // Home Assistant discovery came with the connection, pointing at this device's status for availability.
        var discovery = probe.Messages.Where(m => m.Topic.StartsWith("homeassistant/")).ToList();
        Assert.True(discovery.Count >= 6, $"{discovery.Count} discovery configs");
        Assert.All(discovery, m => Assert.EndsWith("/config", m.Topic));
        Assert.Contains(discovery, m => JsonDocument.Parse(m.Payload).RootElement.TryGetProperty("availability_topic", out var a) && a.GetString() == $"edgegate/{Device}/status");
    }

    [Fact]
    public void WithASitesLivenessPolicy_TheEnrolledSpeakerIsGrantedOnlyOnceLive_AndTheEventCarriesEachCheck()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        using var broker = MosquittoBroker.Start(output);
        EnrolGridSpeaker(faces);
        using var probe = Subscriber(broker);

        var exit = DaemonProcess.RunToExit(output, Settings(Video(faces, "grid_id2_vcd_swwp2s.mpg"), broker.Port, fast: true,
            "Camera:ExitAtEnd=true", "Door:PulseMs=500", "Liveness:Required:0=passive", "Liveness:Required:1=blink"), RunLimit, out var daemon);
        using var run = daemon;

        Assert.Equal(0, exit);
        Assert.Contains(daemon.Lines, l => l.Contains("liveness: required Passive+Blink, any of -"));
        Wait.Until(() => Events(probe, "access").Count >= 1, "the access event");
        var access = Assert.Single(Events(probe, "access"));
        output.WriteLine(access.ToString());
        Assert.Equal("granted", access.GetProperty("decision").GetString());
        var liveness = access.GetProperty("liveness");
        Assert.Equal("live", liveness.GetProperty("state").GetString());
        var checks = liveness.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("passed").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["passive"] = true, ["blink"] = true }, checks);
    }

    [Fact]
    public void WithLivenessEnabled_BadLivenessKeysStopTheDaemonNamingThem()
    {
        var exit = DaemonProcess.RunToExit(output,
            [$"Storage:Path={_dir}/state", "Door:Driver=sim", "Camera:Source=videotestsrc ! appsink name=sink", "Liveness:Enabled=true",
             "Liveness:Required:0=palm", "Liveness:BudgetMs=-5"], RunLimit, out var daemon);
        using var run = daemon;
        Assert.Equal(2, exit);
        Assert.Contains(daemon.Lines, l => l.Contains("EdgeGate:Liveness:Required") && l.Contains("palm"));
        Assert.Contains(daemon.Lines, l => l.Contains("EdgeGate:Liveness:BudgetMs"));
    }

    [Fact]
    public void SomeoneNotEnrolled_IsDeniedUnknown_AndTheRelayNeverMoves()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        using var broker = MosquittoBroker.Start(output);
        EnrolGridSpeaker(faces);
        using var probe = Subscriber(broker);

        var exit = DaemonProcess.RunToExit(output, Settings(Video(faces, "grid_brbk7n.mpg"), broker.Port, fast: true, "Camera:ExitAtEnd=true"), RunLimit, out var daemon);
        using var run = daemon;

        Assert.Equal(0, exit);
        Wait.Until(() => Events(probe, "access").Count >= 1, "the access event");
        var access = Assert.Single(Events(probe, "access"));
        Assert.Equal("denied", access.GetProperty("decision").GetString());
        Assert.Equal("unknown", access.GetProperty("reason").GetString());
        Assert.False(access.TryGetProperty("person", out _));
        Assert.True(access.GetProperty("similarity").GetDouble() < 0.45);
        Assert.Empty(Events(probe, "door"));
        Assert.DoesNotContain(true, RelayLevels());
    }

    [Fact]
    public void BrokerDown_EventsWaitInTheOutbox_AndArriveWhenItIsBack()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        EnrolGridSpeaker(faces);
        using var broker = MosquittoBroker.Start(output);
        var port = broker.Port;
        broker.Stop(); // the daemon starts with the broker down

        var first = DaemonProcess.RunToExit(output, Settings(Video(faces, "grid_id2_vcd_swwp2s.mpg"), port, fast: true, "Camera:ExitAtEnd=true", "Door:PulseMs=500"), RunLimit, out var offline);
        using (offline) Assert.Equal(0, first);
        Assert.Contains(offline.Lines, l => l.Contains("still holds"));

        broker.Restart();
        using var probe = Subscriber(broker);
        var second = DaemonProcess.RunToExit(output, Settings(Video(faces, "grid_brbk7n.mpg"), port, fast: true, "Camera:ExitAtEnd=true"), RunLimit, out var online);
        using (online) Assert.Equal(0, second);

        Wait.Until(() => Events(probe, "access").Count >= 2, "both runs' access events");
        var decisions = Events(probe, "access").DistinctBy(e => e.GetProperty("event_id").GetString()).Select(e => e.GetProperty("decision").GetString()).ToList();
        Assert.Equal(2, decisions.Count);
        Assert.Contains("granted", decisions); // from the run while the broker was down
        Assert.Contains("denied", decisions);
        Assert.Contains("relay_energised", Events(probe, "door").Select(e => e.GetProperty("event").GetString()));
    }

    [Fact]
    public void SigkillWhileTheRelayIsEnergised_LeavesTheLineReleasedAndInactive_AndTheWillSaysOffline()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        using var broker = MosquittoBroker.Start(output);
        EnrolGridSpeaker(faces);
        using var probe = Subscriber(broker);

        // A long pulse and a looping file: the relay is certainly energised when the process dies. Liveness off: in real
        // time its blink needs the machine to keep up (≥ ~12 processed frames/s, README "Liveness"), and this test is
        // about the relay line, not about liveness.
        using var daemon = DaemonProcess.Start(output, Settings(Video(faces, "grid_id2_vcd_swwp2s.mpg"), broker.Port, fast: false,
            "Camera:Loop=true", "Door:PulseMs=60000", "TelemetrySeconds=1", "Liveness:Enabled=false"));
        Wait.Until(() => SimulatedGpioChip.Probe(SimDir, "gpiochip0", RelayLine) == (true, true), "the relay to be energised", TimeSpan.FromSeconds(60));
        // While it runs, telemetry reports the stream and the gallery (the first messages may predate the first frame).
        JsonElement Latest() => probe.Messages.Where(m => m.Topic == $"edgegate/{Device}/telemetry")
            .Select(m => JsonDocument.Parse(m.Payload).RootElement.Clone()).LastOrDefault();
        Wait.Until(() => Latest() is { ValueKind: JsonValueKind.Object } t && t.GetProperty("decisions").GetInt64() >= 1,
            "telemetry counting the grant");
        var telemetry = Latest();
        Assert.True(telemetry.GetProperty("frames").GetInt64() > 0);
        Assert.Equal(1, telemetry.GetProperty("granted").GetInt64());
        Assert.Equal(1, telemetry.GetProperty("gallery_size").GetInt32());
        Assert.Equal("streaming", telemetry.GetProperty("camera").GetString());
        Assert.True(telemetry.GetProperty("rss_mb").GetDouble() > 0);
        daemon.Signal("KILL");
        daemon.WaitForExit(TimeSpan.FromSeconds(10));

        Assert.Equal((false, false), SimulatedGpioChip.Probe(SimDir, "gpiochip0", RelayLine));
        Wait.Until(() => probe.Messages.Any(m => m.Topic == $"edgegate/{Device}/status" && Encoding.UTF8.GetString(m.Payload) == "offline"),
            "the Last Will 'offline'");
    }

    [Fact]
    public void SomeoneEnrolledWhileTheDaemonRuns_IsRecognisedWithoutARestart()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        // A looping clip is a person who keeps walking up: each pass is a new track and a new decision. Liveness off, as
        // in the SIGKILL test: real-time liveness depends on the machine's frame rate and is tested on its own.
        using var daemon = DaemonProcess.Start(output, Settings(Video(faces, "grid_id2_vcd_swwp2s.mpg"), 1, fast: false,
            "Camera:Loop=true", "Mqtt:Host=", "Door:PulseMs=300", "Access:CooldownSeconds=0", "Liveness:Enabled=false"));
        daemon.WaitForLine(l => l.Contains("access denied: unknown"), "a stranger's denial before enrolment");
        Assert.DoesNotContain(daemon.Lines, l => l.Contains("access granted"));

        EnrolGridSpeaker(faces);

        daemon.WaitForLine(l => l.Contains("gallery changed: 1 people"), "the daemon to notice the enrolment");
        daemon.WaitForLine(l => l.Contains("access granted to grid"), "a grant after enrolment");
        daemon.Signal("TERM");
        Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains(true, RelayLevels());
    }

    [Theory]
    [InlineData("missing-file", "no-such-camera.mp4")]
    [InlineData("bad-element", "no element")]
    public void BrokenCamera_TheWatchdogRetriesWithBackOff_AndTheDaemonStaysUp_UntilStopped(string kind, string expectedInError)
    {
        using var broker = MosquittoBroker.Start(output);
        var source = kind == "missing-file"
            ? Path.Combine(_dir, "no-such-camera.mp4")
            : "videotestsrc is-live=true ! nosuchconverter ! videoconvert ! appsink name=sink";
        using var daemon = DaemonProcess.Start(output, Settings(source, broker.Port, fast: false, "Camera:WatchdogSeconds=1"));

        daemon.WaitForLine(l => l.Contains("camera failed") && l.Contains(expectedInError), $"a camera failure saying '{expectedInError}'");
        Wait.Until(() => daemon.CountLines(l => l.Contains("rebuilding the pipeline")) >= 2, "two rebuild attempts", TimeSpan.FromSeconds(60));
        Assert.False(daemon.HasExited);
        daemon.Signal("TERM");
        Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
        // The door was held (inactive) the whole time and released cleanly on stop.
        Assert.Equal((false, false), SimulatedGpioChip.Probe(SimDir, "gpiochip0", RelayLine));
        Assert.DoesNotContain(true, RelayLevels());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HomeAssistantUnlock_OpensTheDoor_OnlyWhenExplicitlyAllowed(bool allowed)
    {
        using var broker = MosquittoBroker.Start(output);
        using var probe = Subscriber(broker);
        using var daemon = DaemonProcess.Start(output, Settings("testsrc", broker.Port, fast: false,
            $"Mqtt:HomeAssistantAllowUnlock={allowed.ToString().ToLowerInvariant()}", "Door:PulseMs=60000"));
        Wait.Until(() => probe.Messages.Any(m => m.Topic == $"edgegate/{Device}/status" && Encoding.UTF8.GetString(m.Payload) == "online"),
            "the daemon online", TimeSpan.FromSeconds(60));
        daemon.WaitForLine(l => l.Contains("camera streaming"), "the camera");

        probe.PublishAndWaitForAck($"edgegate/{Device}/ha/lock/set", "UNLOCK"u8.ToArray());

        if (allowed)
        {
            Wait.Until(() => SimulatedGpioChip.Probe(SimDir, "gpiochip0", RelayLine) == (true, true), "the relay to be energised");
            Wait.Until(() => Events(probe, "access").Any(e => e.GetProperty("reason").GetString() == "remote_unlock"), "the remote unlock event");
            probe.PublishAndWaitForAck($"edgegate/{Device}/ha/lock/set", "LOCK"u8.ToArray());
            Wait.Until(() => RelayLevels() is [.., false] levels && levels.Contains(true), "the relay released by LOCK");
        }
        else
        {
            // Give a wrongly wired handler time to act (the allowed case reacts within milliseconds), then check that
            // nothing moved.
            Thread.Sleep(1000);
            daemon.Signal("TERM");
            Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.DoesNotContain(true, RelayLevels());
            Assert.Empty(Events(probe, "access"));
        }
    }

    [Fact]
    public void BadConfiguration_ExitsWithTwo_NamingEachKey_BeforeAnythingIsTouched()
    {
        var exit = DaemonProcess.RunToExit(output,
            [$"Storage:Path={_dir}/state", "Door:Driver=banana", "Mqtt:Port=70000", "Camera:Source=videotestsrc ! fakesink", "DeviceId=a/b"], RunLimit, out var daemon);
        using var run = daemon;

        Assert.Equal(2, exit);
        Assert.Contains(daemon.Lines, l => l.Contains("EdgeGate:Door:Driver"));
        Assert.Contains(daemon.Lines, l => l.Contains("EdgeGate:Mqtt:Port"));
        Assert.Contains(daemon.Lines, l => l.Contains("EdgeGate:DeviceId"));
        Assert.Contains(daemon.Lines, l => l.Contains("EdgeGate:Camera:Source"));
        Assert.False(Directory.Exists(Path.Combine(_dir, "state")), "the state directory must not be created");

        var unparsable = DaemonProcess.RunToExit(output, [$"Storage:Path={_dir}/state", "Door:RelayLine=seventeen"], RunLimit, out var second);
        using var rerun = second;
        Assert.Equal(2, unparsable);
        Assert.Contains(second.Lines, l => l.Contains("EdgeGate:Door:RelayLine"));
    }

    [Fact]
    public void TemplateKey_MissingForAnEncryptedGallery_OrOpenToOthers_OrABadTimeZone_ExitsWithTwo_AndNothingIsLost()
    {
        // A gallery whose templates were sealed with a key kept elsewhere (e.g. restored from a backup without its key).
        var state = Path.Combine(_dir, "state");
        var elsewhere = Path.Combine(_dir, "elsewhere.key");
        using (var gallery = EdgeGate.Storage.SqliteGalleryStore.Open(Path.Combine(state, "gallery.db"), EdgeGate.Storage.GalleryKey.File(elsewhere)))
            gallery.Enrol(new EdgeGate.Core.Gallery.PersonEnrolment("p1", "P One"), [new EdgeGate.Core.Gallery.NewTemplate("m", [0.6f, 0.8f], 1)]);
        var before = File.ReadAllBytes(Path.Combine(state, "gallery.db"));
        string[] sets = [$"Storage:Path={state}", "Door:Driver=sim", "Mqtt:Host=", "Camera:Source=videotestsrc ! appsink name=sink"];

        var exit = DaemonProcess.RunToExit(output, sets, RunLimit, out var daemon);
        using (daemon)
        {
            Assert.Equal(2, exit);
            Assert.Contains(daemon.Lines, l => l.Contains("template key file") && l.Contains(Path.Combine(state, "template.key")) && l.Contains("restore"));
        }
        Assert.False(File.Exists(Path.Combine(state, "template.key")), "no new key may be made up for an encrypted gallery");
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(state, "gallery.db")));

        // The right key, but readable by others: refused before anything starts.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(elsewhere, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        exit = DaemonProcess.RunToExit(output, [.. sets, $"Storage:TemplateKeyPath={elsewhere}", "Site:TimeZone=Mars/Olympus_Mons"], RunLimit, out var second);
        using (second)
        {
            Assert.Equal(2, exit);
            Assert.Contains(second.Lines, l => l.Contains("EdgeGate:Storage:TemplateKeyPath") && l.Contains("group or others"));
            Assert.Contains(second.Lines, l => l.Contains("EdgeGate:Site:TimeZone") && l.Contains("Mars/Olympus_Mons"));
        }
    }

    [Fact]
    public void UnderSystemd_SaysReady_FeedsTheWatchdogWhileFramesFlow_AndSaysStopping()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var socketPath = Path.Combine(_dir, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        socket.ReceiveTimeout = 1000;
        var messages = new List<string>();
        var receiving = true;
        var receiver = new Thread(() =>
        {
            var buffer = new byte[4096];
            while (Volatile.Read(ref receiving))
            {
                try
                {
                    var n = socket.Receive(buffer);
                    lock (messages) messages.Add(Encoding.UTF8.GetString(buffer, 0, n));
                }
                catch (SocketException) { }
            }
        }) { IsBackground = true };
        receiver.Start();
        string[] Received() { lock (messages) return [.. messages]; }

        using var daemon = DaemonProcess.Start(output, Settings(Video(faces, "grid_id2_vcd_swwp2s.mpg"), 1, fast: false, "Camera:Loop=true", "Mqtt:Host="),
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "1000000" });
        Wait.Until(() => Received().Any(m => m.Contains("READY=1")), "READY=1", TimeSpan.FromSeconds(60));
        Wait.Until(() => Received().Count(m => m == "WATCHDOG=1") >= 2, "two watchdog pings", TimeSpan.FromSeconds(30));
        daemon.Signal("TERM");
        Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
        Volatile.Write(ref receiving, false);
        receiver.Join();

        var all = Received();
        Assert.Contains(all, m => m.StartsWith("STATUS=") && m.Contains("camera streaming"));
        Assert.Contains(all, m => m.Contains("STOPPING=1"));
        // READY comes before the first watchdog ping: systemd must not be fed before the door is usable.
        Assert.True(Array.FindIndex(all, m => m.Contains("READY=1")) < Array.IndexOf(all, "WATCHDOG=1"));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
