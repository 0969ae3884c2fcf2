using EdgeGate.Core.Faces;
using EdgeGate.Core.Liveness;

namespace EdgeGate.Core.Tests.Liveness;

public class LivenessHeuristicsTests
{
    private static readonly LivenessPolicy Policy = new();
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void FitAffine_recovers_a_general_affine_map_exactly()
    {
        var from = SyntheticFace.View(SyntheticFace.Model(), flat: false, 0, 0, 0);
        var map = new Affine(1.1, 0.2, 5, -0.15, 0.9, -3);
        var to = from.Select(map.Apply).ToArray();
        var fit = LandmarkGeometry.FitAffine(from, to);
        Assert.Equal(map.A, fit.A, 4); Assert.Equal(map.B, fit.B, 4); Assert.Equal(map.C, fit.C, 2);
        Assert.Equal(map.D, fit.D, 4); Assert.Equal(map.E, fit.E, 4); Assert.Equal(map.F, fit.F, 2);
        Assert.True(LandmarkGeometry.NonPlanarResidual(from, to) < 1e-4);
    }

    [Fact]
    public void Eye_aspect_ratio_falls_when_the_eyes_close()
    {
        var open = LandmarkGeometry.EyeAspectRatio68(SyntheticFace.View(SyntheticFace.Model(1), false, 0, 0, 0));
        var closed = LandmarkGeometry.EyeAspectRatio68(SyntheticFace.View(SyntheticFace.Model(0.2), false, 0, 0, 0));
        Assert.Equal(7.0 / 18, open, 3); // (2·7) / (2·18)
        Assert.True(closed < 0.3 * open, $"closed {closed} open {open}");
    }

    [Theory]
    [InlineData(true, 0.0)]
    [InlineData(true, 0.3)]
    public void A_flat_picture_turned_and_waved_about_stays_below_the_motion_threshold(bool flat, double noise)
    {
        var (score, global) = Track(flat, noise, yawAmplitude: 20);
        Assert.True(score < Policy.MotionThreshold / 2, $"planar residual {score}");
        Assert.True(global > 0.2, $"the picture did move: {global}");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    public void A_real_head_turning_shows_parallax_above_the_motion_threshold(double noise)
    {
        var (score, _) = Track(flat: false, noise, yawAmplitude: 20);
        Assert.True(score > Policy.MotionThreshold, $"parallax residual {score}");
    }

    [Fact]
    public void A_head_held_still_has_no_parallax_to_show()
    {
        var (score, _) = Track(flat: false, noise: 0.3, yawAmplitude: 0);
        Assert.True(score < Policy.MotionThreshold, $"residual {score}");
    }

    [Fact]
    public void Motion_fails_only_when_configured_and_the_face_moved_as_a_plane()
    {
        var failing = Policy with { MotionFailAfterGlobal = 0.2 };
        var tracker = new MotionTracker(failing);
        var model = SyntheticFace.Model();
        for (var i = 0; i < 30; i++)
            tracker.Add(Ms(i * 40), SyntheticFace.View(model, flat: true, 20 * Math.Sin(i / 5.0), 0, 5 * Math.Sin(i / 7.0), tx: 200 + 2 * i));
        Assert.False(tracker.Passed);
        var lenient = new MotionTracker(Policy);
        for (var i = 0; i < 30; i++)
            lenient.Add(Ms(i * 40), SyntheticFace.View(model, flat: true, 20 * Math.Sin(i / 5.0), 0, 5 * Math.Sin(i / 7.0), tx: 200 + 2 * i));
        Assert.Null(lenient.Passed);
    }

    private static (double Score, double Global) Track(bool flat, double noise, double yawAmplitude)
    {
        var rng = new Random(7);
        var tracker = new MotionTracker(Policy);
        var model = SyntheticFace.Model();
        for (var i = 0; i < 40; i++)
        {
            var yaw = yawAmplitude * Math.Sin(i / 6.0);
            tracker.Add(Ms(i * 40), SyntheticFace.View(model, flat, yaw, 3 * Math.Sin(i / 9.0), 8 * Math.Sin(i / 11.0),
                scale: 1 + 0.1 * Math.Sin(i / 8.0), tx: 200 + 3 * i, ty: 200 - i, noise: noise, rng: rng));
        }
        return (tracker.Score, tracker.GlobalMotion);
    }

    [Fact]
    public void Open_closed_open_within_the_window_is_a_blink()
    {
        var blink = Feed([0.33, 0.32, 0.34, 0.33, 0.33, 0.20, 0.15, 0.19, 0.31, 0.33]);
        Assert.True(blink.BlinkSeen);
        Assert.Equal(Ms(8 * 40), blink.BlinkAt);
    }

    [Fact]
    public void Landmark_noise_and_a_shallow_dip_are_not_a_blink()
    {
        var rng = new Random(3);
        var ears = Enumerable.Range(0, 60).Select(_ => 0.3 + (rng.NextDouble() - 0.5) * 0.04).ToList();
        ears[30] = 0.23; // a one-frame dip to 0.77 of the open level, as the dev replays show
        Assert.False(Feed(ears).BlinkSeen);
    }

    [Fact]
    public void A_single_deep_frame_is_landmark_noise_unless_one_frame_is_allowed()
    {
        double[] ears = [0.33, 0.32, 0.34, 0.33, 0.33, 0.15, 0.33, 0.33];
        Assert.False(Feed(ears).BlinkSeen);
        var t = new BlinkTracker(Policy with { BlinkMinClosedFrames = 1 });
        for (var i = 0; i < ears.Length; i++) t.Add(Ms(i * 40), ears[i]);
        Assert.True(t.BlinkSeen);
    }

    [Fact]
    public void Eyes_kept_shut_longer_than_the_window_are_not_a_blink()
    {
        var ears = new List<double> { 0.33, 0.33, 0.33, 0.33 };
        ears.AddRange(Enumerable.Repeat(0.12, 20)); // 800 ms closed
        ears.AddRange([0.33, 0.33]);
        Assert.False(Feed(ears).BlinkSeen);
    }

    [Fact]
    public void A_track_that_starts_with_closed_eyes_needs_to_be_seen_open_first()
    {
        // Closed at the start and then open: no open → closed transition was seen.
        Assert.False(Feed([0.15, 0.15, 0.33, 0.33, 0.33, 0.33]).BlinkSeen);
    }

    [Fact]
    public void Mouth_opening_grows_with_the_lip_gap_and_ignores_how_a_picture_is_turned_scaled_or_moved()
    {
        var closed = LandmarkGeometry.MouthOpening(SyntheticFace.View(SyntheticFace.Model(mouthOpen: 0.1), false, 0, 0, 0));
        var open = LandmarkGeometry.MouthOpening(SyntheticFace.View(SyntheticFace.Model(mouthOpen: 2), false, 0, 0, 0));
        // Inner lips 6·m apart in the middle and 6·m·cos 45° at the two side pairs; eye centres 44 apart.
        static double Gap(double m) => 6 * m * (1 + 2 * Math.Sqrt(0.5)) / 3 / 44;
        Assert.Equal(Gap(0.1), closed, 6);
        Assert.Equal(Gap(2), open, 6);
        var moved = LandmarkGeometry.MouthOpening(SyntheticFace.View(SyntheticFace.Model(mouthOpen: 2), true, 0, 0, 25, scale: 0.6, tx: 90, ty: 310));
        Assert.Equal(open, moved, 6);
    }

    [Theory]
    [InlineData(0.3, 0.5)] // lips together, 0.5 px landmark noise
    [InlineData(3.0, 2.0)] // a laughing photo, whose lip landmarks jitter far more
    public void A_waved_picture_never_shows_the_mouth_both_closed_and_open(double mouthOpen, double noise)
    {
        var rng = new Random(5);
        var model = SyntheticFace.Model(mouthOpen: mouthOpen);
        var picture = new MouthTracker(Policy);
        for (var i = 0; i < 75; i++) // 3 s at 25 fps: turned, tilted, scaled and moved about
            picture.Add(Ms(i * 40), LandmarkGeometry.MouthOpening(SyntheticFace.View(model, flat: true, 15 * Math.Sin(i / 6.0), 5 * Math.Sin(i / 9.0),
                6 * Math.Sin(i / 7.0), scale: 1 + 0.08 * Math.Sin(i / 5.0), tx: 200 + i, noise: noise, rng: rng)));
        Assert.Null(picture.Passed);
        Assert.True(picture.Min > Policy.MouthClosed || picture.Max < Policy.MouthOpen, $"gap {picture.Min}–{picture.Max}");
    }

    [Fact]
    public void A_speaking_mouth_passes_once_seen_closed_and_open()
    {
        var rng = new Random(5);
        var speaker = new MouthTracker(Policy);
        for (var i = 0; i < 25; i++) // open for 400 ms, then lips together for 400 ms
            speaker.Add(Ms(i * 40), LandmarkGeometry.MouthOpening(SyntheticFace.View(SyntheticFace.Model(mouthOpen: Math.Max(0, 2.2 * Math.Sin(i * Math.PI / 10))),
                flat: false, 0, 0, 0, noise: 0.3, rng: rng)));
        Assert.True(speaker.Passed);
        Assert.InRange(speaker.PassedAt!.Value.TotalMilliseconds, 400, 520); // when the lips first met after opening
    }

    [Fact]
    public void One_frame_of_a_misplaced_lip_is_not_mouth_movement()
    {
        var tracker = new MouthTracker(Policy);
        double[] gaps = [0.01, 0.01, 0.01, 0.40, 0.01, 0.01, 0.01, 0.01];
        for (var i = 0; i < gaps.Length; i++) tracker.Add(Ms(i * 40), gaps[i]);
        Assert.Null(tracker.Passed);
        Assert.Equal(0, tracker.Score, 6);
        tracker.Add(Ms(320), 0.40);
        tracker.Add(Ms(360), 0.40); // held for two frames: the median follows
        Assert.True(tracker.Passed);
    }

    [Fact]
    public void A_closure_across_a_gap_in_the_track_is_not_a_blink()
    {
        // A face seen only now and then: closed at 1500 ms, unseen, closed again at 1800 ms, open at 1900 ms.
        var t = new BlinkTracker(Policy);
        (double Ms, double Ear)[] seen = [(0, 0.21), (100, 0.21), (1200, 0.21), (1300, 0.20), (1400, 0.21), (1500, 0.08), (1800, 0.13), (1900, 0.22), (2000, 0.21)];
        foreach (var (ms, ear) in seen) t.Add(Ms(ms), ear);
        Assert.False(t.BlinkSeen);
        // The same closure seen in consecutive frames is one.
        var steady = new BlinkTracker(Policy);
        (double Ms, double Ear)[] consecutive = [(0, 0.21), (100, 0.21), (200, 0.21), (300, 0.20), (400, 0.21), (500, 0.08), (600, 0.13), (700, 0.22)];
        foreach (var (ms, ear) in consecutive) steady.Add(Ms(ms), ear);
        Assert.True(steady.BlinkSeen);
    }

    private static BlinkTracker Feed(IEnumerable<double> ears)
    {
        var t = new BlinkTracker(Policy);
        var i = 0;
        foreach (var e in ears) t.Add(Ms(i++ * 40), e);
        return t;
    }
}
