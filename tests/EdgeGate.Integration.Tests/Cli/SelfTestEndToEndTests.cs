using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using EdgeGate.Camera;
using EdgeGate.Door.Gpio;
using EdgeGate.Integration.Tests.Mqtt;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Cli;

/// <summary>
/// <c>edgegate selftest --json</c> as a technician runs it from the normal build: a separate process with a
/// configuration file, the simulated door, a video file as the camera and a real mosquitto.
/// </summary>
public sealed class SelfTestEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-selftest-").FullName;
    private string State => Path.Combine(_dir, "state");
    private string SimDirectory => Path.Combine(State, "sim-gpio");

    [Fact]
    public void SimDoor_FileCamera_RealBroker_Passes_AndTheSnapshotShowsTheDrawnFace()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        using var broker = MosquittoBroker.Start(output);
        var snapshot = Path.Combine(_dir, "snap.png");

        var r = Run(Config(faces, broker.Port), "--snapshot", snapshot);

        Assert.Equal(0, r.Exit);
        Assert.True((bool)r.Json["ok"]!, r.Raw);
        Assert.Equal(["ok", "checks", "snapshot"], r.Json.Select(p => p.Key));
        foreach (var name in new[] { "config", "disk", "storage", "models", "gpio", "door_contact", "exit_button", "camera", "inference", "snapshot", "broker" })
            Assert.True(Status(r, name) == "pass", $"{name}: {Check(r, name)}");
        Assert.All(r.Json["checks"]!.AsArray(), c => Assert.Equal(["name", "required", "status", "detail", "ms"], c!.AsObject().Select(p => p.Key)));
        Assert.Contains("round trip", (string)Check(r, "broker")["detail"]!);
        Assert.Contains("1 face(s)", (string)Check(r, "inference")["detail"]!);
        Assert.Equal(snapshot, (string)r.Json["snapshot"]!);

        // The snapshot decodes, and the box (pure green) and the landmarks (pure red) are drawn on it: the video has
        // a blue backdrop and a face, neither of which holds these exact colours in any quantity.
        using var image = new GstImageDecoder().DecodeFile(snapshot);
        Assert.Equal((360, 288), (image.Width, image.Height));
        var (green, red) = (0, 0);
        var px = image.Pixels;
        for (var i = 0; i < image.ByteLength; i += 3)
        {
            if (px[i] == 0 && px[i + 1] == 255 && px[i + 2] == 0) green++;
            if (px[i] == 0 && px[i + 1] == 0 && px[i + 2] == 255) red++;
        }
        output.WriteLine($"green {green} px, red {red} px");
        Assert.InRange(green, 400, 4000); // a 2-px frame around a face of roughly 100×160 px
        Assert.True(red >= 68 * 4, $"red {red} px: the 68 landmark dots are missing");
    }

    [Fact]
    public void BrokerDown_FailsTheBrokerCheck_WithExitCode1()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var closedPort = FreePort();

        var r = Run(Config(faces, closedPort), "--timeout", "2", "--frames", "1");

        Assert.Equal(1, r.Exit);
        Assert.False((bool)r.Json["ok"]!);
        var broker = Check(r, "broker");
        Assert.Equal("fail", (string)broker["status"]!);
        Assert.True((bool)broker["required"]!);
        Assert.Contains($"127.0.0.1:{closedPort}", (string)broker["detail"]!);
        Assert.Equal("pass", Status(r, "models")); // only the broker is wrong
    }

    [Fact]
    public void Credentials_WrongPasswordFails_AnAclThatForbidsTheSelftestTopicOnlyWarns()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var passwords = Path.Combine(_dir, "passwords");
        using (var p = Process.Start("mosquitto_passwd", ["-b", "-c", passwords, "door1", "s3cret"])!)
        {
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }
        var acl = Path.Combine(_dir, "acl");
        File.WriteAllText(acl, "user door1\ntopic readwrite edgegate/selftest-e2e/status\ntopic readwrite edgegate/selftest-e2e/event/#\n");
        using var broker = MosquittoBroker.Start(output, new MosquittoBrokerOptions
        {
            ExtraConfig = $"allow_anonymous false\npassword_file {passwords}\nacl_file {acl}",
        });
        var config = Config(faces, broker.Port);

        var wrong = Run(config, "--set", "Mqtt:Username=door1", "--set", "Mqtt:Password=wrong", "--timeout", "3", "--frames", "1");
        Assert.Equal(1, wrong.Exit);
        Assert.Equal("fail", Status(wrong, "broker"));
        Assert.Contains("authori", (string)Check(wrong, "broker")["detail"]!, StringComparison.OrdinalIgnoreCase);

        var right = Run(config, "--set", "Mqtt:Username=door1", "--set", "Mqtt:Password=s3cret", "--timeout", "3", "--frames", "1");
        Assert.Equal(0, right.Exit);
        var detail = (string)Check(right, "broker")["detail"]!;
        Assert.Equal("warn", Status(right, "broker"));
        Assert.Contains("CONNACK", detail);
        Assert.Contains("as 'door1'", detail);
    }

    [Fact]
    public void MissingModel_AndWrongChecksum_FailTheModelsCheck()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var real = global::EdgeGate.Composition.AssetLocator.Root();
        var assets = Path.Combine(_dir, "assets");
        var rid = global::EdgeGate.Onnx.OrtRuntime.RuntimeIdentifier;
        Directory.CreateDirectory(Path.Combine(assets, "models"));
        Directory.CreateDirectory(Path.Combine(assets, "runtimes", rid));
        File.CreateSymbolicLink(Path.Combine(assets, "runtimes", rid, "libonnxruntime.so.1"), Path.Combine(real, "runtimes", rid, "libonnxruntime.so.1"));
        File.CreateSymbolicLink(Path.Combine(assets, "models", "fr_feature.onnx"), Path.Combine(real, "models", "fr_feature.onnx"));
        var detect = File.ReadAllBytes(Path.Combine(real, "models", "fr_detect.onnx"));
        detect[^1] ^= 0x01; // one flipped bit: the file still parses, only the checksum can tell
        File.WriteAllBytes(Path.Combine(assets, "models", "fr_detect.onnx"), detect);
        // fr_landmark.onnx left out

        var r = Run(Config(faces, brokerPort: null), "--set", $"Recognition:AssetsPath={assets}", "--frames", "1");

        Assert.Equal(1, r.Exit);
        var models = Check(r, "models");
        Assert.Equal("fail", (string)models["status"]!);
        var detail = (string)models["detail"]!;
        Assert.Contains("models/fr_detect.onnx has sha256", detail);
        Assert.Contains("models/fr_landmark.onnx is missing", detail);
        Assert.DoesNotContain("fr_feature", detail);
    }

    [Fact]
    public void LinesHeldByTheDaemon_Warn_LinesHeldByAnotherProgram_Fail()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var config = Config(faces, brokerPort: null);
        // This test process plays the other process: the simulated chip's lines conflict across processes (flock).
        using (var chip = new SimulatedGpioChip("gpiochip0", 54, stateDirectory: SimDirectory))
        using (chip.RequestOutput(17, "edgegate-relay"))
        {
            var daemon = Run(config, "--frames", "1");
            Assert.Equal(0, daemon.Exit);
            var gpio = Check(daemon, "gpio");
            Assert.Equal("warn", (string)gpio["status"]!);
            Assert.Contains("in use by the running daemon", (string)gpio["detail"]!);
            Assert.Contains("edgegate-relay", (string)gpio["detail"]!);
            Assert.Equal("skip", Status(daemon, "door_contact"));

            var click = Run(config, "--frames", "1", "--click-relay", "--yes");
            Assert.Equal(1, click.Exit);
            Assert.Equal("fail", Status(click, "relay_click"));
            Assert.Contains("running daemon", (string)Check(click, "relay_click")["detail"]!);
        }
        using (var chip = new SimulatedGpioChip("gpiochip0", 54, stateDirectory: SimDirectory))
        using (chip.RequestInput(27, "alarm-panel"))
        {
            var foreign = Run(config, "--frames", "1");
            Assert.Equal(1, foreign.Exit);
            var gpio = Check(foreign, "gpio");
            Assert.Equal("fail", (string)gpio["status"]!);
            Assert.Contains("'alarm-panel'", (string)gpio["detail"]!);
        }
    }

    [Fact]
    public void ClickRelay_WithYes_PulsesTheRelay_AndReleasesIt()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;

        var r = Run(Config(faces, brokerPort: null), "--frames", "1", "--click-relay", "--yes", "--set", "Door:PulseMs=300");

        Assert.Equal(0, r.Exit);
        Assert.Equal("pass", Status(r, "relay_click"));
        // The simulated chip logs every physical change: high while the self-test held it active, then low again.
        var log = File.ReadAllLines(Path.Combine(SimDirectory, "gpiochip0", "transitions.log"))
            .Select(l => l.Split(' ')).Where(f => f[1] == "17").Select(f => (Level: f[2], Consumer: f[4])).ToList();
        output.WriteLine(string.Join('\n', log));
        Assert.Equal([("1", "edgegate-selftest-relay"), ("0", "edgegate-selftest-relay")], log);
        Assert.False(SimulatedGpioChip.Probe(SimDirectory, "gpiochip0", 17).Requested);
    }

    [Fact]
    public void FastEmbedderConfigured_ButNotPrepared_FailsTheVariantCheck()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var prepared = Directory.CreateDirectory(Path.Combine(_dir, "prepared")).FullName;

        var r = Run(Config(faces, brokerPort: null), "--set", "Recognition:EmbedderVariant=fp32-fast", "--set", $"Recognition:PreparedPath={prepared}", "--frames", "1");

        Assert.Equal(1, r.Exit);
        var variant = Check(r, "embedder_variant");
        Assert.True((bool)variant["required"]!);
        Assert.Equal("fail", (string)variant["status"]!);
        Assert.Contains("fr_feature.fp32-fast.onnx", (string)variant["detail"]!);
    }

    [Fact]
    public void InvalidConfiguration_IsAFailedCheckNamingTheKey_AndTheDoorIsNotTouched()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;

        var r = Run(Config(faces, brokerPort: null), "--set", "Door:Driver=banana", "--frames", "1");

        Assert.Equal(1, r.Exit);
        Assert.Contains("EdgeGate:Door:Driver must be 'gpio' or 'sim', got 'banana'", (string)Check(r, "config")["detail"]!);
        Assert.Equal("skip", Status(r, "gpio"));
        Assert.False(Directory.Exists(SimDirectory));
    }

    private string Config(string faces, int? brokerPort)
    {
        var path = Path.Combine(_dir, $"edgegate-{brokerPort}.json");
        var config = new JsonObject
        {
            ["EdgeGate"] = new JsonObject
            {
                ["DeviceId"] = "selftest-e2e",
                ["Storage"] = new JsonObject { ["Path"] = State },
                ["Camera"] = new JsonObject { ["Source"] = Path.Combine(faces, "video", "grid_pwij3p.mpg") },
                ["Door"] = new JsonObject { ["Driver"] = "sim", ["RelayLine"] = 17, ["ContactLine"] = 27, ["ExitButtonLine"] = 22 },
                ["Mqtt"] = new JsonObject { ["Host"] = brokerPort is null ? "" : "127.0.0.1", ["Port"] = brokerPort ?? 1883 },
            },
        };
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    private (int Exit, JsonObject Json, string Raw) Run(string configFile, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EdgeGate.dll"));
        psi.ArgumentList.Add("selftest");
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(configFile);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--json");
        using var p = Process.Start(psi)!;
        p.StandardInput.Close(); // nobody at the keyboard: only --yes may confirm
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException($"edgegate selftest {string.Join(' ', args)} hung"); }
        var stdout = stdoutTask.Result;
        output.WriteLine($"$ edgegate selftest {string.Join(' ', args)} -> {p.ExitCode}\n{stdout}{stderr}");
        return (p.ExitCode, JsonNode.Parse(stdout.Trim())!.AsObject(), stdout);
    }

    private static JsonObject Check(JsonObject json, string name) =>
        json["checks"]!.AsArray().Select(c => c!.AsObject()).SingleOrDefault(c => (string)c["name"]! == name)
        ?? throw new InvalidOperationException($"no check named {name}");

    private static JsonObject Check((int, JsonObject Json, string) r, string name) => Check(r.Json, name);

    private static string Status((int, JsonObject Json, string) r, string name) => (string)Check(r.Json, name)["status"]!;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
