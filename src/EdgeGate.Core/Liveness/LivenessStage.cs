using EdgeGate.Core.Access;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Liveness;

/// <summary>One frame's liveness measurements (for evaluation traces and tests).</summary>
public readonly record struct LivenessSample(TimeSpan Time, float? Passive, double Ear, double Residual, double Mouth);

/// <summary>
/// The site's liveness policy as an <see cref="ILivenessStage"/>: each track gets a <see cref="LivenessSession"/>
/// that runs the passive model on its first frames and follows blinks and landmark motion.
/// </summary>
public sealed class LivenessStage : ILivenessStage
{
    private readonly IPassiveLivenessScorer? _passive;

    /// <param name="passive">required when the policy uses <see cref="LivenessCheck.Passive"/>.</param>
    public LivenessStage(LivenessPolicy policy, IPassiveLivenessScorer? passive)
    {
        var errors = policy.Validate().ToList();
        if (policy.Uses(LivenessCheck.Passive) && passive is null) errors.Add("the passive check needs the liveness model");
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(policy));
        Policy = policy;
        _passive = passive;
    }

    public LivenessPolicy Policy { get; }

    public ILivenessSession Begin(long trackId, TimeSpan startedAt) => new LivenessSession(Policy, _passive, startedAt);
}

/// <summary>
/// Evidence over one track. Verdict: Spoof as soon as a required check positively fails (passive mean below its
/// threshold, or a picture moved about as a plane); Live once every required check and one of the any-of checks pass;
/// Timeout when the budget has run out before that; Pending otherwise.
/// </summary>
public sealed class LivenessSession : ILivenessSession
{
    private readonly LivenessPolicy _policy;
    private readonly IPassiveLivenessScorer? _passive;
    private readonly TimeSpan _start;
    private readonly BlinkTracker _blink;
    private readonly MotionTracker _motion;
    private readonly MouthTracker _mouth;
    private readonly List<LivenessSample> _samples = new(64);
    private double _passiveSum;
    private int _passiveCount;
    private LivenessVerdict? _final;

    public LivenessSession(LivenessPolicy policy, IPassiveLivenessScorer? passive, TimeSpan startedAt)
    {
        _policy = policy; _passive = passive; _start = startedAt;
        _blink = new BlinkTracker(policy);
        _motion = new MotionTracker(policy);
        _mouth = new MouthTracker(policy);
    }

    public IReadOnlyList<LivenessSample> Samples => _samples;

    public void Observe(CapturedFrame frame, FaceObservation face)
    {
        if (_final is not null) return;
        var t = frame.StreamTime;
        float? passive = null;
        if (_passive is not null && _policy.Uses(LivenessCheck.Passive) && _passiveCount < _policy.PassiveMaxFrames)
        {
            passive = _passive.Score(frame.Image, face.Box);
            _passiveSum += passive.Value;
            _passiveCount++;
        }
        var ear = LandmarkGeometry.EyeAspectRatio68(face.Landmarks);
        _blink.Add(t, ear);
        _motion.Add(t, face.Landmarks);
        var mouth = LandmarkGeometry.MouthOpening(face.Landmarks);
        _mouth.Add(t, mouth);
        _samples.Add(new LivenessSample(t, passive, ear, _motion.LastResidual, mouth));
    }

    public LivenessVerdict Evaluate(TimeSpan now)
    {
        if (_final is not null) return _final;
        var state = StateAt(now);
        var checks = new List<LivenessCheckResult>(_policy.Required.Count + _policy.AnyOf.Count);
        foreach (var c in _policy.Required) checks.Add(Result(c));
        foreach (var c in _policy.AnyOf) checks.Add(Result(c));
        var verdict = new LivenessVerdict(state, _passiveCount > 0 ? _passiveSum / _passiveCount : null, checks);
        if (state != LivenessState.Pending) _final = verdict;
        return verdict;
    }

    public LivenessState Peek(TimeSpan now) => _final?.State ?? StateAt(now);

    /// <summary>The verdict's state from each check's pass/fail alone: no strings, no lists (every pending frame asks).</summary>
    private LivenessState StateAt(TimeSpan now)
    {
        var required = _policy.Required;
        var anyOf = _policy.AnyOf;
        bool requiredFailed = false, requiredAllPassed = true;
        for (var i = 0; i < required.Count; i++)
        {
            var p = Passed(required[i]);
            requiredFailed |= p == false;
            requiredAllPassed &= p == true;
        }
        bool anyPassed = false, allFailed = true;
        for (var i = 0; i < anyOf.Count; i++)
        {
            var p = Passed(anyOf[i]);
            anyPassed |= p == true;
            allFailed &= p == false;
        }
        if (requiredFailed || (anyOf.Count > 0 && allFailed)) return LivenessState.Spoof;
        if (requiredAllPassed && (anyOf.Count == 0 || anyPassed)) return LivenessState.Live;
        return now - _start >= _policy.Budget ? LivenessState.Timeout : LivenessState.Pending;
    }

    /// <summary>Each check's outcome so far, as <see cref="Result"/> reports it: true passed, false failed, null not yet.</summary>
    private bool? Passed(LivenessCheck check) => check switch
    {
        LivenessCheck.Passive => _passiveCount == 0 || _passiveCount < Math.Min(_policy.PassiveFrames, _policy.PassiveMaxFrames)
            ? null : _passiveSum / _passiveCount >= _policy.PassiveThreshold,
        LivenessCheck.Blink => _blink.BlinkSeen ? true : null,
        LivenessCheck.Motion => _motion.Passed,
        LivenessCheck.Mouth => _mouth.Passed,
        _ => throw new ArgumentOutOfRangeException(nameof(check)),
    };

    private LivenessCheckResult Result(LivenessCheck check)
    {
        switch (check)
        {
            case LivenessCheck.Passive:
            {
                if (_passiveCount == 0) return new(Name(check), 0, null, "no frame scored");
                var mean = _passiveSum / _passiveCount;
                bool? passed = _passiveCount < Math.Min(_policy.PassiveFrames, _policy.PassiveMaxFrames) ? null : mean >= _policy.PassiveThreshold;
                return new(Name(check), Math.Round(mean, 4), passed, $"mean P(real) of {_passiveCount} frames, threshold {_policy.PassiveThreshold}");
            }
            case LivenessCheck.Blink:
                return new(Name(check), Math.Round(_blink.Depth, 4), _blink.BlinkSeen ? true : null,
                    _blink.BlinkSeen ? $"blink at {(_blink.BlinkAt!.Value - _start).TotalMilliseconds:0} ms" : $"no blink in {_blink.Samples} frames");
            case LivenessCheck.Motion:
                return new(Name(check), Math.Round(_motion.Score, 4), _motion.Passed,
                    $"non-planar residual {_motion.Score:0.000} (threshold {_policy.MotionThreshold}), whole-face motion {_motion.GlobalMotion:0.00}");
            case LivenessCheck.Mouth:
            {
                var seen = _mouth.Samples < 3 ? "no lip gap yet" : $"lip gap {_mouth.Min:0.000}–{_mouth.Max:0.000}";
                var at = _mouth.PassedAt is { } p ? $", closed and open at {(p - _start).TotalMilliseconds:0} ms" : "";
                return new(Name(check), Math.Round(_mouth.Score, 4), _mouth.Passed,
                    $"{seen}{at} (closed ≤ {_policy.MouthClosed}, open ≥ {_policy.MouthOpen})");
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(check));
        }
    }

    public static string Name(LivenessCheck c) => c switch
    {
        LivenessCheck.Passive => "passive",
        LivenessCheck.Blink => "blink",
        LivenessCheck.Motion => "motion",
        LivenessCheck.Mouth => "mouth",
        _ => c.ToString().ToLowerInvariant(),
    };

    public void Dispose() { }
}
