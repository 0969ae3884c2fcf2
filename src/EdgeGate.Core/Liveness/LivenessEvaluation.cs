using EdgeGate.Core.Access;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Liveness;

/// <summary>One presentation to the camera: a bona fide face (attack type null) or an attack of a named type.</summary>
public sealed record PresentationResult(
    string Name, string? AttackType, LivenessState State, TimeSpan? DecisionTime, int Frames, int FramesWithFace, LivenessVerdict Verdict)
{
    /// <summary>The system let it through (only <see cref="LivenessState.Live"/> is an accept).</summary>
    public bool Accepted => State == LivenessState.Live;
}

/// <summary>ISO/IEC 30107-3 figures over a set of presentations.</summary>
public sealed record PadReport(
    IReadOnlyDictionary<string, (int Attacks, int Accepted)> ApcerByType, int BonaFide, int BonaFideRejected, double? MeanDecisionMs)
{
    /// <summary>Attack presentations of one type wrongly accepted as live, as a fraction.</summary>
    public double Apcer(string type) => ApcerByType[type].Attacks == 0 ? 0 : (double)ApcerByType[type].Accepted / ApcerByType[type].Attacks;

    /// <summary>Bona fide presentations wrongly rejected, as a fraction (null with none).</summary>
    public double? Bpcer => BonaFide == 0 ? null : (double)BonaFideRejected / BonaFide;

    public static PadReport From(IReadOnlyCollection<PresentationResult> results)
    {
        var byType = results.Where(r => r.AttackType is not null).GroupBy(r => r.AttackType!)
            .ToDictionary(g => g.Key, g => (g.Count(), g.Count(r => r.Accepted)), StringComparer.Ordinal);
        var bona = results.Where(r => r.AttackType is null).ToList();
        var timed = results.Where(r => r.DecisionTime is not null).Select(r => r.DecisionTime!.Value.TotalMilliseconds).ToList();
        return new PadReport(byType, bona.Count, bona.Count(r => !r.Accepted), timed.Count > 0 ? timed.Average() : null);
    }
}

/// <summary>
/// Runs a presentation (a sequence of frames) through the same liveness stage and face tracker the daemon uses: every
/// face is followed by <see cref="FaceTracker"/> and each track gets its own session and its own budget, measured from
/// the track's first frame (a scene cut or a second person starts a new track, exactly as at the door). The
/// presentation is accepted as soon as any track is Live (for an attack that is the conservative reading: one live
/// track would open the door). Otherwise its verdict is that of the track seen in the most frames (the subject), and
/// a track still pending when the stream ends is judged with its budget treated as spent (Timeout unless a check
/// failed).
/// </summary>
public static class PresentationRunner
{
    public static PresentationResult Run(string name, string? attackType, ILivenessStage stage, IEnumerable<CapturedFrame> frames,
        Func<BgrFrame, IReadOnlyList<FaceObservation>> observe, TrackerOptions? tracking = null)
    {
        var tracker = new FaceTracker(tracking);
        var sessions = new Dictionary<long, TrackRun>();
        var ended = new List<FaceTrack>();
        int count = 0, withFace = 0;
        try
        {
            foreach (var frame in frames)
            {
                using (frame)
                {
                    count++;
                    var faces = observe(frame.Image);
                    var boxes = new FaceBox[faces.Count];
                    for (var i = 0; i < faces.Count; i++) boxes[i] = faces[i].Box;
                    ended.Clear();
                    var tracks = tracker.Update(boxes, frame.StreamTime, 0, ended);
                    if (faces.Count > 0) withFace++;
                    for (var i = 0; i < faces.Count; i++)
                    {
                        if (!sessions.TryGetValue(tracks[i].Id, out var run))
                            sessions[tracks[i].Id] = run = new TrackRun(stage.Begin(tracks[i].Id, frame.StreamTime), frame.StreamTime);
                        run.Frames++;
                        if (run.Verdict.State != LivenessState.Pending) continue;
                        run.Session.Observe(frame, faces[i]);
                        run.Verdict = run.Session.Evaluate(frame.StreamTime);
                        if (run.Verdict.State == LivenessState.Pending) continue;
                        run.DecidedAfter = frame.StreamTime - run.Start;
                        if (run.Verdict.State == LivenessState.Live)
                            return new PresentationResult(name, attackType, LivenessState.Live, run.DecidedAfter, count, withFace, run.Verdict);
                    }
                }
            }
            if (sessions.Count == 0) return new PresentationResult(name, attackType, LivenessState.Pending, null, count, 0, LivenessVerdict.Pending);
            var subject = sessions.Values.OrderByDescending(r => r.Frames).First();
            if (subject.Verdict.State == LivenessState.Pending)
            {
                // Ended undecided: what the daemon would say once the budget is up (no decision time: it never decided).
                var verdict = subject.Session.Evaluate(subject.Start + TimeSpan.FromDays(1));
                return new PresentationResult(name, attackType, verdict.State, null, count, withFace, verdict);
            }
            return new PresentationResult(name, attackType, subject.Verdict.State, subject.DecidedAfter, count, withFace, subject.Verdict);
        }
        finally
        {
            foreach (var run in sessions.Values) run.Session.Dispose();
        }
    }

    private sealed class TrackRun(ILivenessSession session, TimeSpan start)
    {
        public ILivenessSession Session { get; } = session;
        public TimeSpan Start { get; } = start;
        public LivenessVerdict Verdict { get; set; } = LivenessVerdict.Pending;
        public TimeSpan? DecidedAfter { get; set; }
        public int Frames { get; set; }
    }
}

/// <summary>
/// A synthetic replay attack from a still photo: the picture held up to the camera by hand for a few seconds — a smooth
/// random affine wobble (shift, rotation, scale, a little shear for tilt), a slight blur and a slow brightness drift.
/// The picture moves as one plane and never blinks. Deterministic for a given seed.
/// </summary>
public static class ReplayAttack
{
    /// <summary>
    /// Longest side of the replayed frames: a picture held up to a door camera is seen at camera resolution, so a
    /// multi-megapixel photo is shrunk (anti-aliased) to this once before it is moved about.
    /// </summary>
    public const int MaxSide = 1024;

    public static IEnumerable<CapturedFrame> Frames(BgrFrame still, int seed, TimeSpan duration, double fps = 10)
    {
        if (Math.Max(still.Width, still.Height) <= MaxSide) return Frames(still, seed, duration, fps, owned: null);
        var s = (double)MaxSide / Math.Max(still.Width, still.Height);
        int sw = Math.Max(1, (int)Math.Round(still.Width * s)), sh = Math.Max(1, (int)Math.Round(still.Height * s));
        var small = new BgrFrame(sw, sh);
        ImageSampler.Warp(still, ImageSampler.RectToGrid(0, 0, still.Width, still.Height, sw, sh), sw, sh, small.Pixels);
        return Frames(small, seed, duration, fps, owned: small);
    }

    private static IEnumerable<CapturedFrame> Frames(BgrFrame still, int seed, TimeSpan duration, double fps, BgrFrame? owned)
    {
        using var _ = owned;
        var rng = new Random(seed);
        int w = still.Width, h = still.Height;
        var n = Math.Max(1, (int)Math.Round(duration.TotalSeconds * fps));
        // Hand-held motion: each parameter is a sum of two slow sines with random phases.
        double[] amp = [0.03 * w, 0.03 * h, 0.05, 0.04, 0.02]; // dx px, dy px, rotation rad, log-scale, shear
        var phases = Enumerable.Range(0, amp.Length * 2).Select(_ => rng.NextDouble() * 2 * Math.PI).ToArray();
        var freqs = Enumerable.Range(0, amp.Length * 2).Select(_ => 0.3 + rng.NextDouble() * 1.2).ToArray();
        var brightnessDrift = (rng.NextDouble() * 2 - 1) * 0.15;
        for (var i = 0; i < n; i++)
        {
            var t = i / fps;
            var p = new double[amp.Length];
            for (var k = 0; k < amp.Length; k++)
                p[k] = amp[k] * 0.5 * (Math.Sin(2 * Math.PI * freqs[2 * k] * t + phases[2 * k]) + Math.Sin(2 * Math.PI * freqs[2 * k + 1] * t + phases[2 * k + 1]));
            double cx = w / 2.0, cy = h / 2.0, s = Math.Exp(p[3]), c = Math.Cos(p[2]) * s, sn = Math.Sin(p[2]) * s;
            // The wobble maps the picture into the frame; the sampler walks it backwards.
            var wobble = new Affine(c, -sn + p[4], cx + p[0] - (c * cx + (-sn + p[4]) * cy), sn, c, cy + p[1] - (sn * cx + c * cy));
            var toSrc = wobble.Inverse();
            var frame = new BgrFrame(w, h);
            ImageSampler.Warp(still, toSrc, w, h, frame.Pixels);
            var gain = 1 + brightnessDrift * (n == 1 ? 0 : (double)i / (n - 1));
            var px = frame.Pixels;
            for (var j = 0; j < px.Length; j++) px[j] = (byte)Math.Clamp(px[j] * gain, 0, 255);
            Blur3(frame);
            yield return new CapturedFrame(frame, i, TimeSpan.FromSeconds(t), 0);
        }
    }

    /// <summary>
    /// A 3×3 blur (centre weighted 4, edges 2, corners 1) in place: the slight defocus of a re-shot picture. The kernel is
    /// [1 2 1] ⊗ [1 2 1], so it runs as two passes of integer sums and one rounding, the same bytes as the 3×3 loop at a
    /// third of the cost (replays of multi-megapixel photos spent most of their time here).
    /// </summary>
    private static void Blur3(BgrFrame f)
    {
        int w = f.Width, h = f.Height, stride = f.Stride;
        var px = f.Pixels;
        var rows = new int[h * w * 3];
        for (var y = 0; y < h; y++)
        {
            var line = px.Slice(y * stride, w * 3);
            var o = y * w * 3;
            for (var x = 0; x < w; x++)
            {
                int l = Math.Max(x - 1, 0) * 3, c = x * 3, r = Math.Min(x + 1, w - 1) * 3;
                for (var ch = 0; ch < 3; ch++) rows[o + c + ch] = line[l + ch] + 2 * line[c + ch] + line[r + ch];
            }
        }
        for (var y = 0; y < h; y++)
        {
            int up = Math.Max(y - 1, 0) * w * 3, mid = y * w * 3, down = Math.Min(y + 1, h - 1) * w * 3;
            var line = px.Slice(y * stride, w * 3);
            for (var k = 0; k < w * 3; k++) line[k] = (byte)((rows[up + k] + 2 * rows[mid + k] + rows[down + k] + 8) / 16);
        }
    }
}
