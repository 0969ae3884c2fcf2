using System.Diagnostics;
using EdgeGate.Composition;
using EdgeGate.Core.Diagnostics;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Ports;
using EdgeGate.Daemon;
using EdgeGate.Door.Gpio;

namespace EdgeGate.Cli.SelfTest;

/// <summary>
/// One self-test check. Checks run in order over one <see cref="SelfTestContext"/>, so a later check can use what an
/// earlier one produced (the camera's frames, the loaded models, the GPIO lines held). A check that throws fails with
/// the exception's message; it never stops the others.
/// </summary>
public interface ISelfTestCheck
{
    /// <summary>Stable, for the JSON output and for monitoring: lower-case with underscores.</summary>
    string Name { get; }

    /// <summary>Whether a failure fails the self-test; may depend on the configuration (e.g. a contact that is wired).</summary>
    bool IsRequired(SelfTestContext context);

    CheckOutcome Run(SelfTestContext context);
}

/// <summary>What the checks share: the configuration, the operator's choices, and what earlier checks produced.</summary>
public sealed class SelfTestContext : IDisposable
{
    /// <summary>Consumer label prefix of the lines the self-test requests, so gpioinfo tells them from the daemon's.</summary>
    public const string GpioConsumer = "edgegate-selftest";

    /// <summary>The daemon's own consumer labels start with this (DoorService: "edgegate" + "-relay" / "-contact" / "-exit").</summary>
    public const string DaemonConsumerPrefix = "edgegate-";

    /// <summary>The bound configuration; null when it could not even be read (then only the config check says why).</summary>
    public DaemonOptions? Options { get; init; }

    /// <summary>Every configuration problem, each naming its key; empty when valid.</summary>
    public IReadOnlyList<string> ConfigErrors { get; init; } = [];

    /// <summary>Which configuration sources were read, for the config check's detail.</summary>
    public IReadOnlyList<string> ConfigSources { get; init; } = [];

    public bool ConfigValid => Options is not null && ConfigErrors.Count == 0;

    /// <summary>How long the camera, the broker and the GPIO may take each.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Frames the camera must deliver within <see cref="Timeout"/>.</summary>
    public int CameraFrames { get; init; } = 5;

    /// <summary>Where to write the snapshot; null = <c>&lt;Storage:Path&gt;/selftest-snapshot.png</c>.</summary>
    public string? SnapshotRequest { get; init; }

    /// <summary>--click-relay: pulse the relay once (after <see cref="Confirm"/>).</summary>
    public bool ClickRelay { get; init; }

    /// <summary>Asks the operator a yes/no question; false when nobody can answer.</summary>
    public Func<string, bool> Confirm { get; init; } = _ => false;

    /// <summary>Whether <see cref="Confirm"/> reaches a person (false with --yes: nobody listens for the click).</summary>
    public bool Interactive { get; init; }

    // Produced by the checks.
    public List<CapturedFrame> Frames { get; } = [];
    public string? CameraDescription { get; set; }
    public FaceStack? Stack { get; set; }

    /// <summary>The camera frame with the most faces (index into <see cref="Frames"/>) and its faces.</summary>
    public (int FrameIndex, List<FaceObservation> Faces)? Detections { get; set; }
    public string? SnapshotWritten { get; set; }
    public GpioChip? Chip { get; set; }
    public IGpioOutputLine? Relay { get; set; }
    public IGpioInputLine? Contact { get; set; }
    public IGpioInputLine? ExitButton { get; set; }

    /// <summary>The door's lines are held by the running daemon (EBUSY with its consumer label): they were not tested here.</summary>
    public string? DaemonHoldsDoor { get; set; }

    public DaemonOptions RequireOptions() => Options ?? throw new InvalidOperationException("the configuration could not be read (see the config check)");

    public string AssetsRoot() => RequireOptions().Recognition.AssetsPath ?? AssetLocator.Root();

    public void ReleaseDoor()
    {
        // Fail-secure even here: the relay is driven inactive before its line is given back.
        try { if (Relay is { IsActive: true } relay) relay.SetActive(false); }
        catch (GpioIOException) { }
        Relay?.Dispose();
        Contact?.Dispose();
        ExitButton?.Dispose();
        Chip?.Dispose();
        Relay = null;
        Contact = null;
        ExitButton = null;
        Chip = null;
    }

    public void Dispose()
    {
        ReleaseDoor();
        foreach (var f in Frames) f.Dispose();
        Frames.Clear();
        Stack?.Dispose();
        Stack = null;
    }
}

/// <summary>Runs checks in order, timing each; an exception is that check's failure, never the end of the run.</summary>
public static class SelfTestRunner
{
    public static SelfTestReport Run(IEnumerable<ISelfTestCheck> checks, SelfTestContext context, Action<CheckResult>? progress = null)
    {
        var results = new List<CheckResult>();
        foreach (var check in checks)
        {
            var start = Stopwatch.GetTimestamp();
            bool required;
            CheckOutcome outcome;
            try
            {
                required = check.IsRequired(context);
            }
            catch (Exception)
            {
                required = true;
            }
            try
            {
                outcome = check.Run(context);
            }
            catch (Exception e)
            {
                outcome = CheckOutcome.Fail(Describe(e));
            }
            var result = new CheckResult(check.Name, required, outcome.Status, outcome.Detail, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            results.Add(result);
            progress?.Invoke(result);
        }
        return new SelfTestReport(results, context.SnapshotWritten);
    }

    /// <summary>The message, with the inner one when it adds something (native errors often wrap the useful text).</summary>
    public static string Describe(Exception e)
    {
        var message = $"{e.GetType().Name}: {e.Message}";
        if (e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal))
            message += $" ({inner.Message})";
        return message;
    }
}

/// <summary>A check made from a function: the daemon's <c>selftest</c> command reports its own live state this way.</summary>
public sealed class DelegateCheck(string name, bool required, Func<CheckOutcome> run) : ISelfTestCheck
{
    public string Name => name;
    public bool IsRequired(SelfTestContext context) => required;
    public CheckOutcome Run(SelfTestContext context) => run();
}
