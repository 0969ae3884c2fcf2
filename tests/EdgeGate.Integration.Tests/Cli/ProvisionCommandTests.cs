using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using EdgeGate.Cli;
using EdgeGate.Core.Commands;
using EdgeGate.Daemon;
using Microsoft.Extensions.Configuration;

namespace EdgeGate.Integration.Tests.Cli;

/// <summary>First-boot provisioning on real files in temp folders: a boot partition, /etc/edgegate, real modes and owners.</summary>
public sealed class ProvisionCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-provision-").FullName;
    private readonly List<string> _log = [];
    private string Boot => Path.Combine(_dir, "boot");
    private string Etc => Path.Combine(_dir, "etc");
    private string BootFile => Path.Combine(Boot, ProvisionCommand.BootFileName);
    private static readonly string CommandKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

    public ProvisionCommandTests()
    {
        Directory.CreateDirectory(Boot);
        Directory.CreateDirectory(Etc);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The test runs as whoever runs the suite; that account stands in for edgegate (chown to oneself is allowed).</summary>
    private ProvisionCommand.Options Options(string? from = null) => new()
    {
        From = from, BootDirectories = [Boot], ConfigDirectory = Etc, Account = Environment.UserName,
    };

    private static (string CertPem, string KeyPem) SelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=edgegate-test", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return (cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    private static JsonObject ValidFile() => new()
    {
        ["format"] = 1,
        ["device_id"] = "front-door",
        ["broker"] = new JsonObject { ["url"] = "mqtts://broker.example.net", ["username"] = "front-door", ["password"] = "pw" },
        ["command_key"] = CommandKey,
        ["door"] = new JsonObject { ["chip"] = "gpiochip0", ["relay_line"] = 17, ["contact_line"] = 27, ["exit_button_line"] = 22, ["pulse_ms"] = 2500 },
        ["camera"] = new JsonObject { ["preset"] = "libcamera", ["fps"] = 10 },
    };

    private static UnixFileMode Mode(string path) =>
        OperatingSystem.IsLinux() ? File.GetUnixFileMode(path) : throw new PlatformNotSupportedException("provisioning is Linux-only");

    private List<(string Path, string Content)> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => (f, File.ReadAllText(f))).ToList();

    [Fact]
    public void ValidBootFile_IsAppliedWithPrivateModes_ValidatesAsDaemonConfig_AndIsDeleted()
    {
        var (cert, key) = SelfSignedCertificate();
        File.WriteAllText(Path.Combine(Boot, "ca.crt"), cert);
        var file = ValidFile();
        file["tls"] = new JsonObject { ["ca"] = "ca.crt", ["cert"] = cert, ["key"] = key };
        File.WriteAllText(BootFile, "// written by the installer\n" + file.ToJsonString());

        var result = ProvisionCommand.Run(Options(), _log.Add);

        Assert.True((bool)result["provisioned"]!);
        Assert.Equal("front-door", (string)result["device_id"]!);
        Assert.False(File.Exists(BootFile), "the provisioning file holds secrets and must leave the boot partition");
        Assert.False(File.Exists(Path.Combine(Boot, "ca.crt")), "files it named are removed with it");
        var config = Path.Combine(Etc, "edgegate.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, Mode(config));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Mode(Path.Combine(Etc, "command.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Mode(Path.Combine(Etc, "tls", "client.key")));
        Assert.Equal(cert, File.ReadAllText(Path.Combine(Etc, "tls", "ca.crt")));
        Assert.Empty(Directory.GetDirectories(Etc, ".provision-*"));

        // What the daemon will read: its own configuration loader and validator accept it, and the key loads.
        var daemonConfig = DaemonHost.BuildConfiguration([config], []);
        var options = new DaemonOptions();
        daemonConfig.GetSection(DaemonOptions.Section).Bind(options);
        var validation = new DaemonOptionsValidator().Validate(null, options);
        Assert.False(validation.Failed, string.Join("; ", validation.Failures ?? []));
        Assert.Equal("front-door", options.DeviceId);
        Assert.Equal(("broker.example.net", 8883), (options.Mqtt.Host, options.Mqtt.Port));
        Assert.True(options.Mqtt.Tls.Enabled);
        Assert.Equal(Path.Combine(Etc, "tls", "ca.crt"), options.Mqtt.Tls.CaFile);
        Assert.Equal((17, 27, 22, 2500), (options.Door.RelayLine, options.Door.ContactLine!.Value, options.Door.ExitButtonLine!.Value, options.Door.PulseMs));
        Assert.Equal(("libcamera", 10), (options.Camera.Source, options.Camera.Fps));
        Assert.Equal(Convert.FromHexString(CommandKey), CommandAuthenticator.LoadKeyFile(options.Commands.KeyFile!));
    }

    [Fact]
    public void InvalidFile_ChangesNothing_IsRenamedInvalid_WithEveryReason()
    {
        File.WriteAllText(Path.Combine(Etc, "edgegate.json"), "{\"EdgeGate\":{\"DeviceId\":\"old\"}}");
        File.WriteAllText(Path.Combine(Etc, "command.key"), "old key");
        var before = Snapshot(Etc);
        var file = ValidFile();
        file["device_id"] = "front door";
        file["command_key"] = "abcd";
        file["door"]!["relay_lien"] = 4;
        File.WriteAllText(BootFile, file.ToJsonString());

        var e = Assert.Throws<CliError>(() => ProvisionCommand.Run(Options(), _log.Add));

        Assert.Equal("invalid_provisioning", e.Code);
        Assert.Equal(before, Snapshot(Etc));
        Assert.False(File.Exists(BootFile));
        Assert.True(File.Exists(BootFile + ".invalid"));
        var reasons = File.ReadAllText(BootFile + ".invalid.txt");
        foreach (var key in new[] { "device_id", "command_key", "door.relay_lien" })
        {
            Assert.Contains(key, reasons);
            Assert.Contains(_log, l => l.Contains(key));
        }
    }

    [Fact]
    public void FileThatOnlyTheDaemonValidatorRefuses_ChangesNothing_AndNamesTheDaemonKeys()
    {
        var file = ValidFile();
        file["door"]!["contact_line"] = 17; // the relay's line
        file["camera"]!["fps"] = 0;
        File.WriteAllText(BootFile, file.ToJsonString());

        var e = Assert.Throws<CliError>(() => ProvisionCommand.Run(Options(), _log.Add));

        Assert.Equal("invalid_provisioning", e.Code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Etc));
        var reasons = File.ReadAllText(BootFile + ".invalid.txt");
        Assert.Contains("EdgeGate:Door:RelayLine, ContactLine and ExitButtonLine must be different lines", reasons);
        Assert.Contains("EdgeGate:Camera:Fps", reasons);
    }

    [Fact]
    public void BootPartitionFile_WinsOverEtcFile_WhichIsRemovedAsSuperseded()
    {
        var older = ValidFile();
        older["device_id"] = "older";
        older.Remove("command_key");
        File.WriteAllText(Path.Combine(Etc, ProvisionCommand.EtcFileName), older.ToJsonString());
        File.WriteAllText(BootFile, ValidFile().ToJsonString());

        var result = ProvisionCommand.Run(Options(), _log.Add);

        Assert.Equal("front-door", (string)result["device_id"]!);
        Assert.False(File.Exists(Path.Combine(Etc, ProvisionCommand.EtcFileName)));
        Assert.Contains("\"DeviceId\": \"front-door\"", File.ReadAllText(Path.Combine(Etc, "edgegate.json")));
    }

    [Fact]
    public void ReprovisioningWithoutCommandKey_RemovesTheOldKey_AndTurnsCommandsOff()
    {
        File.WriteAllText(BootFile, ValidFile().ToJsonString());
        ProvisionCommand.Run(Options(), _log.Add);
        Assert.True(File.Exists(Path.Combine(Etc, "command.key")));

        var again = ValidFile();
        again.Remove("command_key");
        File.WriteAllText(BootFile, again.ToJsonString());
        ProvisionCommand.Run(Options(), _log.Add);

        Assert.False(File.Exists(Path.Combine(Etc, "command.key")));
        Assert.DoesNotContain("KeyFile", File.ReadAllText(Path.Combine(Etc, "edgegate.json")));
    }

    [Fact]
    public void NoFile_IsNothingToDo_ButAMissingFromFileIsAnError()
    {
        var result = ProvisionCommand.Run(Options(), _log.Add);
        Assert.False((bool)result["provisioned"]!);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Etc));

        var e = Assert.Throws<CliError>(() => ProvisionCommand.Run(Options(from: Path.Combine(_dir, "nope.json")), _log.Add));
        Assert.Equal("not_found", e.Code);
    }

    [Fact]
    public void UnknownAccount_IsRefusedBeforeAnythingIsTouched()
    {
        File.WriteAllText(BootFile, ValidFile().ToJsonString());
        var e = Assert.Throws<CliError>(() => ProvisionCommand.Run(Options() with { Account = "no-such-account-edgegate" }, _log.Add));
        Assert.Equal("no_account", e.Code);
        Assert.True(File.Exists(BootFile));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Etc));
    }

    [Theory]
    [InlineData("mqtt://10.0.0.5", "10.0.0.5", 1883, false)]
    [InlineData("mqtt://broker:1884", "broker", 1884, false)]
    [InlineData("mqtts://broker", "broker", 8883, true)]
    public void BrokerUrl_GivesHostPortAndTls(string url, string host, int port, bool tls)
    {
        var file = ValidFile();
        file["broker"] = new JsonObject { ["url"] = url };
        var (parsed, errors) = ProvisioningFile.Parse(file.ToJsonString(), _dir);
        Assert.Empty(errors);
        Assert.Equal((host, port, tls), (parsed!.BrokerHost, parsed.BrokerPort, parsed.BrokerTls));
        // Without a CA of its own, TLS checks the broker against the system's certificates.
        var mqtt = ProvisionCommand.Config(parsed, null, null, null, null)["EdgeGate"]!["Mqtt"]!;
        Assert.Equal(tls ? "/etc/ssl/certs" : null, (string?)mqtt["Tls"]?["CaPath"]);
    }

    [Theory]
    [InlineData("""{"broker":{"url":"mqtt://b","password":"x"}}""", "broker.password needs broker.username")]
    [InlineData("""{"broker":{"url":"mqtt://user:pw@b"}}""", "broker.url must be")]
    [InlineData("""{"broker":{"url":"mqtt://b"},"tls":{"ca":"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----"}}""", "use mqtts://")]
    [InlineData("""{"tls":{"key":"not pem"}}""", "tls.key: file")]
    [InlineData("""{"door":{"relay_line":"17"}}""", "door.relay_line must be a whole number")]
    [InlineData("""{"camera":{}}""", "camera.preset is required")]
    [InlineData("""{"format":2}""", "only format 1")]
    public void Problems_AreNamedByKey(string patch, string expected)
    {
        var file = ValidFile();
        foreach (var (name, value) in JsonNode.Parse(patch)!.AsObject())
            file[name] = value?.DeepClone();
        var (parsed, errors) = ProvisioningFile.Parse(file.ToJsonString(), _dir);
        Assert.Null(parsed);
        Assert.Contains(errors, e => e.Contains(expected));
    }

    [Fact]
    public void NotJson_IsOneClearProblem()
    {
        var (parsed, errors) = ProvisioningFile.Parse("{ \"device_id\": ", _dir);
        Assert.Null(parsed);
        Assert.StartsWith("not valid JSON", Assert.Single(errors));
    }
}
