using EdgeGate.Core.Access;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Liveness;
using EdgeGate.Core.Ports;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests.Liveness;

public class LivenessSessionTests
{
    private sealed class FixedScorer(float p) : IPassiveLivenessScorer
    {
        public int Calls;
        public float Score(BgrFrame frame, in FaceBox box) { Calls++; return p; }
    }

    private static readonly LivenessPolicy Policy = new();

    private static FaceObservation Face(double eyeOpen, double yaw = 0, bool flat = false, double mouthOpen = 1, float x = 150)
    {
        var pts = SyntheticFace.View(SyntheticFace.Model(eyeOpen, mouthOpen), flat, yaw, 0, 0, tx: x + 50);
        return new FaceObservation(new FaceBox(x, 150, x + 100, 260, 0.99f), pts, FivePoints.From68(pts), Affine.Identity, new byte[FaceAligner.Size * FaceAligner.Size * 3],
            new FaceQualityMetrics(44, 100, 0, 0, 0));
    }

    /// <summary>Feeds frames at 25 fps with the given eye openness per frame; returns every verdict.</summary>
    private static List<LivenessVerdict> Run(ILivenessSession session, IEnumerable<double> eyes, Func<int, double>? yaw = null)
    {
        var verdicts = new List<LivenessVerdict>();
        var i = 0;
        foreach (var open in eyes)
        {
            using var frame = new CapturedFrame(new BgrFrame(8, 8), i, TimeSpan.FromMilliseconds(i * 40), 0);
            session.Observe(frame, Face(open, yaw?.Invoke(i) ?? 0));
            verdicts.Add(session.Evaluate(frame.StreamTime));
            i++;
        }
        return verdicts;
    }

    private static IEnumerable<double> Blinking() => [1, 1, 1, 1, 1, 1, 0.2, 0.1, 0.3, 1, 1, 1];

    [Fact]
    public void A_real_face_that_blinks_is_live_with_each_check_reported()
    {
        var stage = new LivenessStage(Policy, new FixedScorer(0.95f));
        using var session = stage.Begin(1, TimeSpan.Zero);
        var verdicts = Run(session, Blinking());
        Assert.Equal(LivenessState.Pending, verdicts[2].State);
        var last = verdicts[^1];
        Assert.Equal(LivenessState.Live, last.State);
        Assert.Equal(0.95, last.Score!.Value, 3);
        Assert.Contains(last.Checks, c => c is { Name: "passive", Passed: true });
        Assert.Contains(last.Checks, c => c is { Name: "blink", Passed: true });
    }

    [Fact]
    public void A_failing_passive_score_is_a_spoof_once_enough_frames_are_scored()
    {
        var scorer = new FixedScorer(0.1f);
        using var session = new LivenessStage(Policy, scorer).Begin(1, TimeSpan.Zero);
        var verdicts = Run(session, Blinking());
        Assert.Equal(LivenessState.Pending, verdicts[Policy.PassiveFrames - 2].State);
        Assert.Equal(LivenessState.Spoof, verdicts[Policy.PassiveFrames - 1].State);
        Assert.Contains(verdicts[^1].Checks, c => c is { Name: "passive", Passed: false });
        Assert.Equal(Policy.PassiveFrames, scorer.Calls); // decided: later frames are not scored
    }

    [Fact]
    public void A_picture_that_never_blinks_times_out_at_the_budget_not_as_a_spoof()
    {
        using var session = new LivenessStage(Policy, new FixedScorer(0.95f)).Begin(1, TimeSpan.Zero);
        var frames = (int)(Policy.Budget.TotalMilliseconds / 40) + 5;
        var verdicts = Run(session, Enumerable.Repeat(1.0, frames));
        var budgetFrame = (int)(Policy.Budget.TotalMilliseconds / 40);
        Assert.Equal(LivenessState.Pending, verdicts[budgetFrame - 1].State);
        Assert.Equal(LivenessState.Timeout, verdicts[budgetFrame].State);
        Assert.Contains(verdicts[^1].Checks, c => c is { Name: "blink", Passed: null });
    }

    [Fact]
    public void Passive_scoring_stops_at_the_frame_cap()
    {
        var scorer = new FixedScorer(0.95f);
        using var session = new LivenessStage(Policy, scorer).Begin(1, TimeSpan.Zero);
        Run(session, Enumerable.Repeat(1.0, 30));
        Assert.Equal(Policy.PassiveMaxFrames, scorer.Calls);
    }

    [Fact]
    public void Motion_as_an_alternative_to_blink_accepts_a_turning_head_and_not_a_turned_picture()
    {
        var policy = Policy with { Required = [LivenessCheck.Passive], AnyOf = [LivenessCheck.Blink, LivenessCheck.Motion] };
        var stage = new LivenessStage(policy, new FixedScorer(0.95f));
        using (var head = stage.Begin(1, TimeSpan.Zero))
            Assert.Equal(LivenessState.Live, Run(head, Enumerable.Repeat(1.0, 40), i => 20 * Math.Sin(i / 6.0))[^1].State);
        using var picture = stage.Begin(2, TimeSpan.Zero);
        var verdicts = new List<LivenessVerdict>();
        for (var i = 0; i < 60; i++)
        {
            using var frame = new CapturedFrame(new BgrFrame(8, 8), i, TimeSpan.FromMilliseconds(i * 40), 0);
            picture.Observe(frame, Face(1, 20 * Math.Sin(i / 6.0), flat: true));
            verdicts.Add(picture.Evaluate(frame.StreamTime));
        }
        Assert.Equal(LivenessState.Timeout, verdicts[^1].State);
    }

    [Fact]
    public void Mouth_as_an_alternative_to_blink_accepts_a_speaker_who_does_not_blink()
    {
        var policy = Policy with { Required = [LivenessCheck.Passive], AnyOf = [LivenessCheck.Blink, LivenessCheck.Mouth] };
        var stage = new LivenessStage(policy, new FixedScorer(0.95f));
        using var speaker = stage.Begin(1, TimeSpan.Zero);
        var verdicts = new List<LivenessVerdict>();
        for (var i = 0; i < 25; i++)
        {
            using var frame = new CapturedFrame(new BgrFrame(8, 8), i, TimeSpan.FromMilliseconds(i * 40), 0);
            speaker.Observe(frame, Face(1, mouthOpen: Math.Max(0, 2.2 * Math.Sin(i * Math.PI / 10))));
            verdicts.Add(speaker.Evaluate(frame.StreamTime));
        }
        Assert.True(LivenessState.Live == verdicts[^1].State, string.Join("; ", verdicts[^1].Checks));
        Assert.Contains(verdicts[^1].Checks, c => c is { Name: "mouth", Passed: true });
        Assert.Contains(verdicts[^1].Checks, c => c is { Name: "blink", Passed: null });
        // A face that neither blinks nor speaks is not accepted.
        using var still = stage.Begin(2, TimeSpan.Zero);
        Assert.Equal(LivenessState.Timeout, Run(still, Enumerable.Repeat(1.0, 60))[^1].State);
    }

    [Fact]
    public void Policy_validation_names_the_keys_and_the_stage_needs_the_model_for_passive()
    {
        var bad = Policy with { Budget = TimeSpan.Zero, BlinkOpenRatio = 0.5, Required = [], AnyOf = [] };
        var errors = bad.Validate().ToList();
        Assert.Contains(errors, e => e.Contains("EdgeGate:Liveness:BudgetMs"));
        Assert.Contains(errors, e => e.Contains("BlinkOpenRatio"));
        Assert.Contains(errors, e => e.Contains("at least one check"));
        Assert.Throws<ArgumentException>(() => new LivenessStage(Policy, null));
        _ = new LivenessStage(Policy with { Required = [LivenessCheck.Blink], AnyOf = [] }, null);
    }
}

public class PresentationRunnerTests
{
    private sealed class FixedScorer(float p) : IPassiveLivenessScorer
    {
        public float Score(BgrFrame frame, in FaceBox box) => p;
    }

    private static FaceObservation Face(float x, double eyeOpen, float? boxAt = null)
    {
        var pts = SyntheticFace.View(SyntheticFace.Model(eyeOpen), false, 0, 0, 0, tx: x + 50);
        var bx = boxAt ?? x;
        return new FaceObservation(new FaceBox(bx, 150, bx + 100, 260, 0.99f), pts, FivePoints.From68(pts), Affine.Identity,
            new byte[FaceAligner.Size * FaceAligner.Size * 3], new FaceQualityMetrics(44, 100, 0, 0, 0));
    }

    private static IEnumerable<CapturedFrame> Frames(int n)
    {
        for (var i = 0; i < n; i++) yield return new CapturedFrame(new BgrFrame(8, 8), i, TimeSpan.FromMilliseconds(i * 40), 0);
    }

    [Fact]
    public void A_cut_to_another_place_starts_a_track_with_its_own_budget_and_its_blink_counts_from_that_track_start()
    {
        // 2.4 s of a face on the left that never blinks, a cut, then a face on the right that blinks 0.6 s into its track.
        var n = 0;
        float? boxAt = null;
        IReadOnlyList<FaceObservation> Observe(BgrFrame _)
        {
            var i = n++;
            if (i < 60) return [Face(20, 1, boxAt)];
            var k = i - 60;
            return [Face(600, k is 13 or 14 or 15 ? 0.15 : 1, boxAt)];
        }
        var stage = new LivenessStage(new LivenessPolicy(), new FixedScorer(0.9f));
        var r = PresentationRunner.Run("cut", null, stage, Frames(100), Observe);
        Assert.Equal(LivenessState.Live, r.State);
        Assert.Equal(TimeSpan.FromMilliseconds(16 * 40), r.DecisionTime); // from the second track's first frame, not the clip's
        Assert.Equal(77, r.Frames);

        // One session across the cut (the old reading) would have timed out at 2 s, before the blink.
        n = 0;
        boxAt = 20;
        var single = PresentationRunner.Run("cut", null, stage, Frames(100), Observe);
        Assert.Equal(LivenessState.Timeout, single.State);
    }

    [Fact]
    public void Without_a_live_track_the_verdict_is_the_subjects_the_track_seen_longest()
    {
        var n = 0;
        IReadOnlyList<FaceObservation> Observe(BgrFrame _) => n++ < 5 ? [Face(20, 1), Face(600, 1)] : [Face(600, 1)];
        var r = PresentationRunner.Run("two", "replay", new LivenessStage(new LivenessPolicy(), new FixedScorer(0.9f)), Frames(30), Observe);
        Assert.Equal(LivenessState.Timeout, r.State);
        Assert.Null(r.DecisionTime); // the 1.2 s stream ended before the budget: never decided
        Assert.False(r.Accepted);
    }
}

public class LivenessModelTests
{
    [Fact]
    public void Feeds_raw_BGR_planes_of_the_enlarged_crop_and_reports_softmax_of_class_zero()
    {
        var model = new FakeModel(3 * LivenessModel.InputSize * LivenessModel.InputSize, LivenessModel.Classes);
        model.OnRun = (_, o) => { o[0][0] = 2; o[0][1] = 0; o[0][2] = -1; };
        using var frame = TestFrames.Solid(400, 300, 10, 20, 30);
        using var lm = new LivenessModel(model);
        var p = lm.Score(frame, new FaceBox(150, 100, 210, 170, 0.9f));
        var e = new[] { Math.Exp(2), 1, Math.Exp(-1) };
        Assert.Equal(e[0] / e.Sum(), p, 4);
        var input = model.RecordedInput(0);
        const int plane = LivenessModel.InputSize * LivenessModel.InputSize;
        Assert.Equal(10f, input[0]);          // B plane first, raw 0..255
        Assert.Equal(20f, input[plane]);
        Assert.Equal(30f, input[2 * plane]);
    }

    [Fact]
    public void The_crop_is_2_7_times_the_box_and_is_moved_back_inside_the_frame()
    {
        var (x, y, w, h) = LivenessModel.CropRect(new FaceBox(300, 200, 340, 250, 1), 640, 480);
        Assert.Equal(40 * 2.7f, w, 3); Assert.Equal(50 * 2.7f, h, 3);
        Assert.Equal(320 - w / 2, x, 3); Assert.Equal(225 - h / 2, y, 3);
        // Near the corner: shifted, not clipped.
        (x, y, w, h) = LivenessModel.CropRect(new FaceBox(0, 0, 40, 50, 1), 640, 480);
        Assert.Equal(0, x); Assert.Equal(0, y); Assert.Equal(40 * 2.7f, w, 3);
        // A face filling the frame: the scale shrinks so the crop fits.
        (_, _, w, h) = LivenessModel.CropRect(new FaceBox(10, 10, 310, 230, 1), 320, 240);
        Assert.True(h <= 239.01f && w <= 319.01f, $"{w}x{h}");
    }
}

public class PadReportTests
{
    private static PresentationResult R(string? type, LivenessState s, double? ms) =>
        new("x", type, s, ms is { } v ? TimeSpan.FromMilliseconds(v) : null, 1, 1, LivenessVerdict.Pending);

    [Fact]
    public void Apcer_per_type_bpcer_and_mean_decision_time()
    {
        var report = PadReport.From([
            R("replay", LivenessState.Live, 100), R("replay", LivenessState.Timeout, 2000), R("replay", LivenessState.Spoof, 120), R("replay", LivenessState.Spoof, 80),
            R("print", LivenessState.Spoof, 0),
            R(null, LivenessState.Live, 700), R(null, LivenessState.Timeout, null),
        ]);
        Assert.Equal(0.25, report.Apcer("replay"));
        Assert.Equal(0, report.Apcer("print"));
        Assert.Equal(0.5, report.Bpcer);
        Assert.Equal((100 + 2000 + 120 + 80 + 0 + 700) / 6.0, report.MeanDecisionMs!.Value, 6);
    }
}
