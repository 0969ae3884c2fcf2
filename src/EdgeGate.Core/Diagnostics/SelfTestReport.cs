using System.Text.Json.Nodes;

namespace EdgeGate.Core.Diagnostics;

/// <summary>How one self-test check ended.</summary>
public enum CheckStatus
{
    /// <summary>Works as configured.</summary>
    Pass,

    /// <summary>Works, but something deserves a look (no NTP sync, little disk left, lines held by the running daemon).</summary>
    Warn,

    /// <summary>Does not work; for a required check the self-test fails.</summary>
    Fail,

    /// <summary>Not configured or not asked for (no door contact wired, MQTT off, no --click-relay).</summary>
    Skip,
}

/// <summary>What a check found, before the runner adds its name and timing.</summary>
public sealed record CheckOutcome(CheckStatus Status, string Detail)
{
    public static CheckOutcome Pass(string detail) => new(CheckStatus.Pass, detail);
    public static CheckOutcome Warn(string detail) => new(CheckStatus.Warn, detail);
    public static CheckOutcome Fail(string detail) => new(CheckStatus.Fail, detail);
    public static CheckOutcome Skip(string detail) => new(CheckStatus.Skip, detail);
}

/// <summary>One row of the report: <c>{"name","required","status","detail","ms"}</c> in JSON.</summary>
public sealed record CheckResult(string Name, bool Required, CheckStatus Status, string Detail, double Ms)
{
    /// <summary>Only a required check that failed makes the whole self-test fail; warnings and skips never do.</summary>
    public bool Blocks => Required && Status == CheckStatus.Fail;

    public static string StatusText(CheckStatus status) => status switch
    {
        CheckStatus.Pass => "pass",
        CheckStatus.Warn => "warn",
        CheckStatus.Fail => "fail",
        CheckStatus.Skip => "skip",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["required"] = Required,
        ["status"] = StatusText(Status),
        ["detail"] = Detail,
        ["ms"] = Math.Round(Ms, 1),
    };
}

/// <summary>
/// The self-test's result: every check in the order it ran, and whether the device is fit to run the door
/// (<see cref="Ok"/>: no required check failed). The JSON keys are a contract for installers and monitoring:
/// <c>{"ok":bool,"checks":[{"name","required","status","detail","ms"}],"snapshot":path|null}</c>.
/// </summary>
public sealed class SelfTestReport(IReadOnlyList<CheckResult> checks, string? snapshotPath)
{
    public IReadOnlyList<CheckResult> Checks { get; } = checks;

    /// <summary>The camera snapshot with the detections drawn, when one was written.</summary>
    public string? SnapshotPath { get; } = snapshotPath;

    public bool Ok => !Checks.Any(c => c.Blocks);

    /// <summary>0 when every required check passed (or warned), else 1.</summary>
    public int ExitCode => Ok ? 0 : 1;

    public int Count(CheckStatus status) => Checks.Count(c => c.Status == status);

    public JsonObject ToJson() => new()
    {
        ["ok"] = Ok,
        ["checks"] = new JsonArray(Checks.Select(c => (JsonNode)c.ToJson()).ToArray()),
        ["snapshot"] = SnapshotPath,
    };

    /// <summary>One line for a person: "ok: 9 passed, 2 warnings, 1 skipped" or "FAILED: camera, broker".</summary>
    public string Summary()
    {
        var counts = $"{Count(CheckStatus.Pass)} passed, {Count(CheckStatus.Warn)} warnings, {Count(CheckStatus.Fail)} failed, {Count(CheckStatus.Skip)} skipped";
        return Ok ? $"ok: {counts}" : $"FAILED ({string.Join(", ", Checks.Where(c => c.Blocks).Select(c => c.Name))}): {counts}";
    }
}

/// <summary>The thresholds the self-test applies; pure, so they are tested without a device.</summary>
public static class SelfTestRules
{
    /// <summary>Below this the storage directory warns: the audit log, outbox and gallery grow, and SQLite needs room to write.</summary>
    public const long DiskWarnBytes = 200L * 1024 * 1024;

    /// <summary>Below this the storage directory fails: a full disk loses events (the outbox cannot accept them).</summary>
    public const long DiskFailBytes = 20L * 1024 * 1024;

    public static CheckOutcome DiskSpace(string path, long freeBytes, long totalBytes)
    {
        var text = $"{FormatBytes(freeBytes)} free of {FormatBytes(totalBytes)} at {path}";
        if (freeBytes < DiskFailBytes) return CheckOutcome.Fail($"{text} (below {FormatBytes(DiskFailBytes)}: events would be lost)");
        if (freeBytes < DiskWarnBytes) return CheckOutcome.Warn($"{text} (below {FormatBytes(DiskWarnBytes)})");
        return CheckOutcome.Pass(text);
    }

    /// <summary>
    /// A clock before the program was built is certainly wrong (a board without a battery-backed clock that has not
    /// synchronised yet): TLS certificates look not-yet-valid and signed commands fall outside their time window.
    /// Not knowing whether NTP is synchronised only warns.
    /// </summary>
    /// <param name="ntpSynchronized">true/false when the system says; null when it cannot be told.</param>
    /// <param name="ntpSource">where the NTP status came from, for the detail.</param>
    public static CheckOutcome Clock(DateTimeOffset now, DateOnly? buildDate, bool? ntpSynchronized, string ntpSource)
    {
        var text = $"{now.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC";
        if (buildDate is { } built && DateOnly.FromDateTime(now.UtcDateTime) < built)
            return CheckOutcome.Fail($"{text} is before this build ({built:yyyy-MM-dd}): set the clock or wait for NTP (TLS and signed commands depend on it)");
        if (buildDate is null && now.UtcDateTime.Year < 2025)
            return CheckOutcome.Fail($"{text} is implausibly early: set the clock or wait for NTP");
        return ntpSynchronized switch
        {
            true => CheckOutcome.Pass($"{text}; NTP synchronised ({ntpSource})"),
            false => CheckOutcome.Warn($"{text}; NTP not synchronised ({ntpSource})"),
            null => CheckOutcome.Warn($"{text}; NTP status unknown ({ntpSource})"),
        };
    }

    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.0} KiB",
        _ => $"{bytes} B",
    };
}
