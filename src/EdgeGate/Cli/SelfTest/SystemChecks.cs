using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using EdgeGate.Core.Diagnostics;
using EdgeGate.Storage;

namespace EdgeGate.Cli.SelfTest;

/// <summary>The configuration as <c>edgegate run</c> would read it, validated by the daemon's own validator.</summary>
public sealed class ConfigCheck : ISelfTestCheck
{
    public string Name => "config";
    public bool IsRequired(SelfTestContext context) => true;

    public CheckOutcome Run(SelfTestContext context)
    {
        var sources = context.ConfigSources.Count == 0 ? "defaults only" : string.Join(", ", context.ConfigSources);
        if (context.ConfigErrors.Count > 0) return CheckOutcome.Fail($"{string.Join("; ", context.ConfigErrors)} (read: {sources})");
        var o = context.RequireOptions();
        return CheckOutcome.Pass($"valid (read: {sources}); device {o.DeviceId}, door {o.Door.Driver}, camera {o.Camera.Source}");
    }
}

/// <summary>The wall clock against the build date, and NTP synchronisation as systemd reports it.</summary>
public sealed class ClockCheck : ISelfTestCheck
{
    private const string TimesyncFlag = "/run/systemd/timesync/synchronized";

    public string Name => "clock";
    public bool IsRequired(SelfTestContext context) => true;

    public CheckOutcome Run(SelfTestContext context)
    {
        var (synced, source) = NtpStatus();
        return SelfTestRules.Clock(DateTimeOffset.UtcNow, BuildDate(), synced, source);
    }

    /// <summary>The UTC date this program was built (EdgeGate.csproj stamps it as assembly metadata).</summary>
    public static DateOnly? BuildDate()
    {
        var value = typeof(ClockCheck).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BuildDateUtc")?.Value;
        return DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;
    }

    private static (bool? Synced, string Source) NtpStatus()
    {
        // systemd-timesyncd touches this file on every synchronisation; it does not exist before the first one.
        if (File.Exists(TimesyncFlag)) return (true, "systemd-timesyncd");
        try
        {
            // Works for chrony and ntpd too: it reports the kernel's "clock synchronised" flag (adjtimex).
            var psi = new ProcessStartInfo("timedatectl", ["show", "--property=NTPSynchronized", "--value"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(3)))
            {
                process.Kill();
                return (null, "timedatectl did not answer within 3 s");
            }
            var answer = stdout.Result.Trim();
            if (process.ExitCode == 0 && answer is "yes" or "no") return (answer == "yes", "timedatectl");
            var why = stderr.Result.Trim().Split('\n')[0];
            return (null, $"timedatectl: {(why.Length > 0 ? why : $"exit code {process.ExitCode}")}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (null, "no systemd-timesyncd and no timedatectl");
        }
    }
}

/// <summary>Free space where the daemon keeps its databases (warn below 200 MiB, fail below 20 MiB).</summary>
public sealed class DiskCheck : ISelfTestCheck
{
    public string Name => "disk";
    public bool IsRequired(SelfTestContext context) => true;

    public CheckOutcome Run(SelfTestContext context)
    {
        var path = Path.GetFullPath(context.RequireOptions().Storage.Path);
        // Before the first start the directory may not exist yet; the file system it will be on is what counts.
        var existing = path;
        while (!Directory.Exists(existing)) existing = Path.GetDirectoryName(existing) ?? "/";
        var drive = new DriveInfo(existing);
        return SelfTestRules.DiskSpace(path, drive.AvailableFreeSpace, drive.TotalSize);
    }
}

/// <summary>
/// The daemon's SQLite files (gallery, audit log, outbox): PRAGMA integrity_check on each that exists, read-only, so a
/// self-test run by another user never creates a file the daemon cannot write later.
/// </summary>
public sealed class StorageCheck : ISelfTestCheck
{
    public static readonly string[] Files = ["gallery.db", "events.db", "outbox.db"];

    public string Name => "storage";
    public bool IsRequired(SelfTestContext context) => true;

    public CheckOutcome Run(SelfTestContext context)
    {
        var dir = Path.GetFullPath(context.RequireOptions().Storage.Path);
        return CheckDirectory(dir);
    }

    public static CheckOutcome CheckDirectory(string dir)
    {
        if (!Directory.Exists(dir)) return CheckOutcome.Pass($"{dir} does not exist yet (the daemon creates it and its databases on first start)");
        var found = new List<string>();
        var problems = new List<string>();
        foreach (var name in Files)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) continue;
            try
            {
                var result = SqliteIntegrity.Check(path);
                if (result is ["ok"]) found.Add($"{name} ok");
                else problems.Add($"{name}: {string.Join("; ", result)}");
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                problems.Add($"{name}: {e.Message}");
            }
        }
        if (problems.Count > 0) return CheckOutcome.Fail($"integrity_check in {dir}: {string.Join("; ", problems)}");
        if (found.Count == 0) return CheckOutcome.Pass($"no databases in {dir} yet (the daemon creates them on first start)");
        return CheckOutcome.Pass($"integrity_check in {dir}: {string.Join(", ", found)}");
    }
}
