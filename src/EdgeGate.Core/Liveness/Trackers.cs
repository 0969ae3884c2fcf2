using EdgeGate.Core.Faces;

namespace EdgeGate.Core.Liveness;

/// <summary>
/// Follows the eye aspect ratio over a track and reports a blink: open → closed → open, the closure no longer than
/// <see cref="LivenessPolicy.BlinkMaxClosed"/>. The open level is the median EAR seen so far (eyes are open most of
/// the time), so the check adapts to each face and to the landmark model's bias. A picture never blinks: absence of a
/// blink is never a failure by itself, only a missing pass.
/// </summary>
public sealed class BlinkTracker(LivenessPolicy policy)
{
    private const int MinOpenSamples = 3;

    /// <summary>
    /// Longest gap between two observations that a closure may span. A face lost for longer (a partly hidden bystander
    /// seen now and then, as in a replayed Halle_Berry/2.jpg whose edge face "blinked" across a 300 ms gap) says nothing
    /// about what the eyes did meanwhile, so the closure is dropped and the eyes must be seen open again.
    /// </summary>
    public static readonly TimeSpan MaxGap = TimeSpan.FromMilliseconds(250);

    private readonly List<double> _ears = new(64);
    private double[] _scratch = new double[64];
    private TimeSpan? _last;
    private TimeSpan? _closedAt;
    private int _closedFrames;
    private bool _openSeen;
    private double _deepest = 1;

    public bool BlinkSeen { get; private set; }
    public TimeSpan? BlinkAt { get; private set; }
    public int Samples { get; private set; }

    /// <summary>Deepest dip so far, 1 − EAR/open (0 = never below the open level).</summary>
    public double Depth => 1 - _deepest;

    public void Add(TimeSpan t, double ear)
    {
        if (!double.IsFinite(ear)) return;
        Samples++;
        if (_last is { } last && t - last > MaxGap) { _closedAt = null; _openSeen = false; }
        _last = t;
        if (_ears.Count < MinOpenSamples) { _ears.Add(ear); return; }
        var open = Median(_ears, ref _scratch);
        if (open <= 1e-6) return;
        var ratio = ear / open;
        _deepest = Math.Min(_deepest, ratio);
        if (_closedAt is null)
        {
            if (ratio < policy.BlinkClosedRatio && _openSeen) { _closedAt = t; _closedFrames = 1; }
            else if (ratio >= policy.BlinkOpenRatio) _openSeen = true;
        }
        else if (ratio >= policy.BlinkOpenRatio)
        {
            if (t - _closedAt.Value <= policy.BlinkMaxClosed && _closedFrames >= policy.BlinkMinClosedFrames && !BlinkSeen) { BlinkSeen = true; BlinkAt = t; }
            _closedAt = null;
        }
        else if (ratio < policy.BlinkClosedRatio) _closedFrames++;
        // The open level learns only from frames with the eyes not closed, so a long closure cannot drag it down.
        if (_closedAt is null && ratio >= policy.BlinkClosedRatio) _ears.Add(ear);
    }

    // Sorted in a scratch array the tracker keeps: this runs on every frame of a pending track (the door's hot path).
    private static double Median(List<double> v, ref double[] scratch)
    {
        if (scratch.Length < v.Count) scratch = new double[Math.Max(v.Count, scratch.Length * 2)];
        var s = scratch.AsSpan(0, v.Count);
        v.CopyTo(s);
        s.Sort();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}

/// <summary>
/// Follows the 68 landmarks over a track against the first set: how much of their movement an affine map (a flat
/// picture) cannot explain, and how much the face moved as a whole. Landmarks are averaged over
/// <see cref="Window"/> consecutive frames first: the landmark model's per-frame jitter is independent from frame to
/// frame and averages out, real parallax is smooth and stays. The score is the largest residual after a 3-frame
/// running median (one noisy frame is not parallax).
/// </summary>
public sealed class MotionTracker(LivenessPolicy policy)
{
    public const int Window = 3;
    private PointF[]? _reference;
    // The last Window landmark sets and their mean, in arrays reused frame after frame (no garbage per frame).
    private readonly PointF[][] _recent = new PointF[Window][];
    private int _recentCount, _recentNext;
    private PointF[]? _mean;
    private readonly List<double> _residuals = new(64);

    public int Samples => _residuals.Count + (_reference is null ? 0 : 1);

    /// <summary>Largest 3-frame median residual so far, in eye distances.</summary>
    public double Score { get; private set; }

    /// <summary>Largest whole-face movement against the first frame (eye distances + |log scale| + |radians|).</summary>
    public double GlobalMotion { get; private set; }

    public TimeSpan? PassedAt { get; private set; }

    public double LastResidual => _residuals.Count > 0 ? _residuals[^1] : 0;

    public void Add(TimeSpan t, ReadOnlySpan<PointF> raw)
    {
        var slot = _recent[_recentNext] ??= new PointF[raw.Length];
        if (slot.Length != raw.Length) throw new ArgumentException("landmark count changed within a track", nameof(raw));
        raw.CopyTo(slot);
        _recentNext = (_recentNext + 1) % Window;
        if (_recentCount < Window) _recentCount++;
        if (_recentCount < Window) return;
        if (_reference is null) { _reference = new PointF[raw.Length]; Mean(_recent, _recentNext, _reference); return; }
        var landmarks = _mean ??= new PointF[raw.Length];
        Mean(_recent, _recentNext, landmarks);
        _residuals.Add(LandmarkGeometry.NonPlanarResidual(_reference, landmarks));
        GlobalMotion = Math.Max(GlobalMotion, LandmarkGeometry.GlobalMotion(_reference, landmarks));
        var n = _residuals.Count;
        if (n >= 3)
        {
            double a = _residuals[n - 1], b = _residuals[n - 2], c = _residuals[n - 3];
            var median = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            Score = Math.Max(Score, median);
        }
        if (PassedAt is null && Samples >= policy.MotionFrames && Score >= policy.MotionThreshold) PassedAt = t;
    }

    /// <summary>Mean of the ring's sets, summed oldest first (<paramref name="oldest"/> is the ring slot to start from).</summary>
    private static void Mean(PointF[][] sets, int oldest, PointF[] m)
    {
        for (var i = 0; i < m.Length; i++)
        {
            float x = 0, y = 0;
            for (var k = 0; k < sets.Length; k++)
            {
                var s = sets[(oldest + k) % sets.Length];
                x += s[i].X; y += s[i].Y;
            }
            m[i] = new PointF(x / sets.Length, y / sets.Length);
        }
    }

    /// <summary>True = non-planar motion seen; false = the face moved about as a plane; null = not enough evidence yet.</summary>
    public bool? Passed =>
        Samples < policy.MotionFrames ? null
        : Score >= policy.MotionThreshold ? true
        : policy.MotionFailAfterGlobal > 0 && GlobalMotion >= policy.MotionFailAfterGlobal ? false
        : null;
}

/// <summary>
/// Follows how far the lips are apart (<see cref="LandmarkGeometry.MouthOpening"/>, in eye distances) over a track and
/// passes once the mouth has been seen both closed (≤ <see cref="LivenessPolicy.MouthClosed"/>) and open
/// (≥ <see cref="LivenessPolicy.MouthOpen"/>), in either order: someone speaking, smiling or singing. Both ends are
/// needed because the landmark noise of a photo grows with its lip gap: a replayed laughing photo swings by 0.2 eye
/// distances without ever closing, a closed-mouth photo jitters near zero without ever opening. Each value is the
/// median of the last 3 frames (one misplaced frame is not a movement).
/// </summary>
public sealed class MouthTracker(LivenessPolicy policy)
{
    private readonly List<double> _raw = new(64);

    public int Samples => _raw.Count;

    /// <summary>Smallest smoothed lip gap so far (eye distances); +∞ before 3 frames.</summary>
    public double Min { get; private set; } = double.PositiveInfinity;

    /// <summary>Largest smoothed lip gap so far (eye distances); −∞ before 3 frames.</summary>
    public double Max { get; private set; } = double.NegativeInfinity;

    /// <summary>Range of the smoothed lip gap so far; 0 before 3 frames.</summary>
    public double Score => Max >= Min ? Max - Min : 0;

    public TimeSpan? PassedAt { get; private set; }

    public void Add(TimeSpan t, double opening)
    {
        if (!double.IsFinite(opening)) return;
        _raw.Add(opening);
        var n = _raw.Count;
        if (n < 3) return;
        double a = _raw[n - 1], b = _raw[n - 2], c = _raw[n - 3];
        var median = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
        Min = Math.Min(Min, median);
        Max = Math.Max(Max, median);
        if (PassedAt is null && Min <= policy.MouthClosed && Max >= policy.MouthOpen) PassedAt = t;
    }

    /// <summary>True once the mouth was seen closed and open; never false (a still mouth is a missing pass, not a failure).</summary>
    public bool? Passed => PassedAt is not null ? true : null;
}
