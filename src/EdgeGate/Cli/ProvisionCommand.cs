using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeGate.Daemon;
using EdgeGate.Interop;
using Microsoft.Extensions.Configuration;

namespace EdgeGate.Cli;

/// <summary>
/// <c>edgegate provision</c>: applies a provisioning file at first boot (edgegate-provision.service). Everything is
/// written into a staging folder inside the configuration directory and checked there with the daemon's own
/// validator; only then is it renamed into place (same file system, so each file appears whole) and the provisioning
/// file deleted. An invalid file changes nothing: it is renamed to *.invalid with the reasons in *.invalid.txt.
/// </summary>
public static class ProvisionCommand
{
    public const string BootFileName = "edgegate-provision.json";
    public const string EtcFileName = "provision.json";
    public const string ConfigFileName = "edgegate.json";
    public const string CommandKeyFileName = "command.key";
    public const string TlsDirectoryName = "tls";
    public static readonly string[] DefaultBootDirectories = ["/boot/firmware", "/boot"];

    /// <summary>The files provisioning owns in the configuration directory; one not named by the new file is removed.</summary>
    private static readonly string[] ManagedFiles =
        [CommandKeyFileName, $"{TlsDirectoryName}/ca.crt", $"{TlsDirectoryName}/client.crt", $"{TlsDirectoryName}/client.key"];

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerAndGroupRead = OwnerOnly | UnixFileMode.GroupRead;
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                               UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    public sealed record Options
    {
        /// <summary>One provisioning file to apply; null = look in the boot directories, then the configuration directory.</summary>
        public string? From { get; init; }
        public IReadOnlyList<string> BootDirectories { get; init; } = DefaultBootDirectories;
        public string ConfigDirectory { get; init; } = Path.GetDirectoryName(DaemonHost.SystemConfigFile)!;

        /// <summary>The daemon's account: it owns the key files (the daemon refuses a command key others can read) and its group reads the rest.</summary>
        public string Account { get; init; } = "edgegate";
    }

    /// <summary>Where provisioning files are looked for, first found first: the boot partition(s), then /etc/edgegate/provision.json.</summary>
    public static IReadOnlyList<string> Candidates(Options o) =>
        o.From is not null
            ? [Path.GetFullPath(o.From)]
            : [.. o.BootDirectories.Select(d => Path.Combine(d, BootFileName)), Path.Combine(o.ConfigDirectory, EtcFileName)];

    public static JsonObject Run(Options o, Action<string> log)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("provisioning sets Linux file modes and owners");
        var candidates = Candidates(o);
        var found = candidates.Where(File.Exists).ToList();
        if (found.Count == 0)
        {
            if (o.From is not null) throw new CliError("not_found", $"provisioning file '{o.From}' does not exist");
            return new JsonObject { ["provisioned"] = false, ["reason"] = $"no provisioning file (looked for {string.Join(", ", candidates)})" };
        }
        var source = found[0];
        var (uid, gid) = LookUpAccount(o.Account);

        string text;
        try { text = File.ReadAllText(source, Encoding.UTF8); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliError("unreadable", $"cannot read '{source}': {e.Message}"); }
        var (file, errors) = ProvisioningFile.Parse(text, Path.GetDirectoryName(source)!);
        if (file is null) throw Reject(source, errors, log);

        Directory.CreateDirectory(o.ConfigDirectory);
        // Staged beside the destination so each rename into place stays on one file system.
        var staging = Path.Combine(o.ConfigDirectory, $".provision-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var staged = Stage(file, staging, uid, gid);
            var problems = Validate(Config(file, Under(staged, staging)));
            if (problems.Count > 0) throw Reject(source, problems, log);
            var written = Install(file, staged, staging, o.ConfigDirectory, gid);
            var removed = new JsonArray();
            foreach (var stale in ManagedFiles.Select(f => Path.Combine(o.ConfigDirectory, f)).Where(f => File.Exists(f) && !written.Contains(f)))
            {
                File.Delete(stale);
                removed.Add(stale);
            }
            // The provisioning file holds the broker password, TLS key and command key on a partition anyone can read.
            foreach (var f in found.Concat(file.ReferencedFiles).Distinct())
            {
                File.Delete(f);
                removed.Add(f);
            }
            foreach (var superseded in found.Skip(1)) log($"provision: {superseded} was superseded by {source} and removed");
            log($"provision: applied {source} (device {file.DeviceId}); wrote {string.Join(", ", written)}");
            return new JsonObject
            {
                ["provisioned"] = true,
                ["source"] = source,
                ["device_id"] = file.DeviceId,
                ["written"] = new JsonArray([.. written.Select(w => (JsonNode)w!)]),
                ["removed"] = removed,
            };
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Paths (relative to the configuration directory) of the files this provisioning installs, the config last.</summary>
    private sealed record StagedFiles(string? CaFile, string? CertFile, string? KeyFile, string? CommandKeyFile);

    private static StagedFiles Stage(ProvisioningFile p, string staging, uint uid, uint gid)
    {
        Directory.CreateDirectory(Path.Combine(staging, TlsDirectoryName));
        string? Put(string relative, string? content, bool secret)
        {
            if (content is null) return null;
            var path = Path.Combine(staging, relative);
            WriteNew(path, content, secret ? OwnerOnly : OwnerAndGroupRead);
            // Secrets belong to the daemon's account (0600); the rest to root with the daemon's group reading (0640).
            Posix.Chown(path, secret ? uid : Posix.Unchanged, gid);
            return relative;
        }
        return new StagedFiles(
            Put($"{TlsDirectoryName}/ca.crt", p.CaPem, secret: false),
            Put($"{TlsDirectoryName}/client.crt", p.CertPem, secret: false),
            Put($"{TlsDirectoryName}/client.key", p.KeyPem, secret: true),
            Put(CommandKeyFileName, p.CommandKey is null ? null : p.CommandKey + "\n", secret: true));
    }

    private static StagedFiles Under(StagedFiles s, string directory)
    {
        string? At(string? relative) => relative is null ? null : Path.Combine(directory, relative);
        return new StagedFiles(At(s.CaFile), At(s.CertFile), At(s.KeyFile), At(s.CommandKeyFile));
    }

    private static List<string> Install(ProvisioningFile file, StagedFiles staged, string staging, string configDirectory, uint gid)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("provisioning sets Linux file modes and owners");
        var tls = Path.Combine(configDirectory, TlsDirectoryName);
        if ((staged.CaFile ?? staged.CertFile ?? staged.KeyFile) is not null && !Directory.Exists(tls))
        {
            Directory.CreateDirectory(tls, DirectoryMode);
            Posix.Chown(tls, Posix.Unchanged, gid);
        }
        var written = new List<string>();
        foreach (var relative in new[] { staged.CaFile, staged.CertFile, staged.KeyFile, staged.CommandKeyFile }.OfType<string>())
        {
            File.Move(Path.Combine(staging, relative), Path.Combine(configDirectory, relative), overwrite: true);
            written.Add(Path.Combine(configDirectory, relative));
        }
        // The configuration goes last: it never names a file that is not in place yet.
        var config = Path.Combine(staging, ConfigFileName);
        var final = Path.Combine(configDirectory, ConfigFileName);
        var text = Config(file, Under(staged, configDirectory)).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        WriteNew(config, $"// Written by `edgegate provision` on {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z; a new provisioning file replaces it.\n{text}\n",
            OwnerAndGroupRead);
        Posix.Chown(config, Posix.Unchanged, gid);
        File.Move(config, final, overwrite: true);
        written.Add(final);
        return written;
    }

    /// <summary>The daemon configuration (section EdgeGate, the keys README documents) for a provisioning file.</summary>
    public static JsonObject Config(ProvisioningFile p, string? caFile, string? certFile, string? keyFile, string? commandKeyFile)
    {
        var mqtt = new JsonObject { ["Host"] = p.BrokerHost, ["Port"] = p.BrokerPort };
        if (p.TopicPrefix is not null) mqtt["TopicPrefix"] = p.TopicPrefix;
        if (p.Username is not null) mqtt["Username"] = p.Username;
        if (p.Password is not null) mqtt["Password"] = p.Password;
        if (p.BrokerTls)
        {
            var tls = new JsonObject { ["Enabled"] = true };
            // Without a CA of its own the broker's certificate is checked against the system's store (ca-certificates).
            if (caFile is not null) tls["CaFile"] = caFile; else tls["CaPath"] = "/etc/ssl/certs";
            if (certFile is not null) tls["CertFile"] = certFile;
            if (keyFile is not null) tls["KeyFile"] = keyFile;
            mqtt["Tls"] = tls;
        }
        var door = new JsonObject { ["Driver"] = p.DoorDriver, ["Chip"] = p.DoorChip, ["RelayLine"] = p.RelayLine, ["RelayActiveLow"] = p.RelayActiveLow };
        if (p.PulseMs is { } pulse) door["PulseMs"] = pulse;
        if (p.ContactLine is { } contact) door["ContactLine"] = contact;
        if (p.ContactActiveLow is { } contactLow) door["ContactActiveLow"] = contactLow;
        if (p.ExitButtonLine is { } exit) door["ExitButtonLine"] = exit;
        if (p.ExitButtonActiveLow is { } exitLow) door["ExitButtonActiveLow"] = exitLow;
        var camera = new JsonObject { ["Source"] = p.CameraSource };
        if (p.CameraWidth is { } w) camera["Width"] = w;
        if (p.CameraHeight is { } h) camera["Height"] = h;
        if (p.CameraFps is { } f) camera["Fps"] = f;
        var section = new JsonObject { ["DeviceId"] = p.DeviceId, ["Mqtt"] = mqtt, ["Door"] = door, ["Camera"] = camera };
        if (commandKeyFile is not null) section["Commands"] = new JsonObject { ["KeyFile"] = commandKeyFile };
        return new JsonObject { [DaemonOptions.Section] = section };
    }

    private static JsonObject Config(ProvisioningFile p, StagedFiles at) => Config(p, at.CaFile, at.CertFile, at.KeyFile, at.CommandKeyFile);

    /// <summary>The daemon's own checks on the resulting configuration (key files read where they are staged).</summary>
    private static List<string> Validate(JsonObject config)
    {
        using var json = new MemoryStream(Encoding.UTF8.GetBytes(config.ToJsonString()));
        var options = new DaemonOptions();
        try
        {
            new ConfigurationBuilder().AddJsonStream(json).Build().GetSection(DaemonOptions.Section).Bind(options);
        }
        catch (InvalidOperationException e) { return [e.Message]; }
        var result = new DaemonOptionsValidator().Validate(null, options);
        return result.Failed ? [.. result.Failures!] : [];
    }

    private static CliError Reject(string source, IReadOnlyList<string> errors, Action<string> log)
    {
        foreach (var e in errors) log($"provision: {source}: {e}");
        var invalid = source + ".invalid";
        try
        {
            File.Move(source, invalid, overwrite: true);
            File.WriteAllText(invalid + ".txt",
                $"edgegate provision refused this file ({DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z); nothing was changed. Fix it, rename it back to {Path.GetFileName(source)} and reboot:\n"
                + string.Concat(errors.Select(e => $"- {e}\n")));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log($"provision: could not rename {source} to {invalid}: {e.Message}");
        }
        return new CliError("invalid_provisioning", $"{source} is invalid ({errors.Count} problem{(errors.Count == 1 ? "" : "s")}, listed in {invalid}.txt): {string.Join("; ", errors)}");
    }

    private static void WriteNew(string path, string content, UnixFileMode mode)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("provisioning sets Linux file modes and owners");
        // Created with its final mode: a secret is never readable by others, not even for a moment.
        using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode });
        stream.Write(Encoding.UTF8.GetBytes(content));
    }

    /// <summary>uid and primary gid of an account, from /etc/passwd (where systemd-sysusers and adduser put system accounts).</summary>
    public static (uint Uid, uint Gid) LookUpAccount(string name)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var f = line.Split(':');
            if (f.Length >= 4 && f[0] == name && uint.TryParse(f[2], out var uid) && uint.TryParse(f[3], out var gid)) return (uid, gid);
        }
        throw new CliError("no_account", $"account '{name}' does not exist (the package's postinst creates it)");
    }
}
