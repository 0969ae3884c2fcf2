using EdgeGate.Core.Faces;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Access;

public enum LivenessState
{
    /// <summary>No liveness checks are configured: events say so; this is never reported as a pass.</summary>
    Disabled,

    /// <summary>Still collecting evidence (e.g. waiting for a blink).</summary>
    Pending,
    Live,

    /// <summary>A check positively failed: a presentation attack.</summary>
    Spoof,

    /// <summary>The time budget ran out before the required checks could pass.</summary>
    Timeout,
}

/// <summary>One check's measurement, as it goes into the access event.</summary>
public sealed record LivenessCheckResult(string Name, double Score, bool? Passed, string? Detail = null);

public sealed record LivenessVerdict(LivenessState State, double? Score, IReadOnlyList<LivenessCheckResult> Checks)
{
    public static readonly LivenessVerdict Disabled = new(LivenessState.Disabled, null, []);
    public static readonly LivenessVerdict Pending = new(LivenessState.Pending, null, []);
}

/// <summary>
/// Liveness evidence gathered over one face track. Called on the pipeline thread only, once per frame the track's face
/// is in. The frame is only valid during <see cref="Observe"/> (its pixels are pooled): copy what must be kept.
/// </summary>
public interface ILivenessSession : IDisposable
{
    void Observe(CapturedFrame frame, FaceObservation face);

    /// <summary>The verdict so far at stream time <paramref name="now"/>; Timeout once the budget is used up.</summary>
    LivenessVerdict Evaluate(TimeSpan now);

    /// <summary>
    /// The state <see cref="Evaluate"/> would report, without building the verdict's per-check details. The pipeline asks
    /// this on every frame of a pending track and only asks for the full verdict when it decides; a session should
    /// answer it without allocating.
    /// </summary>
    LivenessState Peek(TimeSpan now) => Evaluate(now).State;
}

/// <summary>Creates one session per track: the site's liveness policy lives behind this.</summary>
public interface ILivenessStage
{
    ILivenessSession Begin(long trackId, TimeSpan startedAt);
}

/// <summary>No liveness checks: every session answers <see cref="LivenessState.Disabled"/>.</summary>
public sealed class DisabledLiveness : ILivenessStage
{
    public static readonly DisabledLiveness Instance = new();

    public ILivenessSession Begin(long trackId, TimeSpan startedAt) => Session.Instance;

    private sealed class Session : ILivenessSession
    {
        public static readonly Session Instance = new();
        public void Observe(CapturedFrame frame, FaceObservation face) { }
        public LivenessVerdict Evaluate(TimeSpan now) => LivenessVerdict.Disabled;
        public void Dispose() { }
    }
}
