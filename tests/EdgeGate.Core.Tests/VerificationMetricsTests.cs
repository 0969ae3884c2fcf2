using EdgeGate.Core.Evaluation;

namespace EdgeGate.Core.Tests;

public class VerificationMetricsTests
{
    private static ScoredPair G(float? s) => new(s, true);
    private static ScoredPair I(float? s) => new(s, false);

    // Genuine 0.9 0.8 0.6 0.35 and one failed; impostor 0.7 0.3 0.2 0.1.
    private static readonly ScoredPair[] Example =
    [
        G(0.9f), G(0.8f), G(0.6f), G(0.35f), G(null),
        I(0.7f), I(0.3f), I(0.2f), I(0.1f),
    ];

    [Fact]
    public void Compute_AtThreshold_CountsFailedGenuineAsFalseRejectAndWrong()
    {
        var r = VerificationMetrics.Compute(Example, 0.5f);
        Assert.Equal(9, r.Pairs);
        Assert.Equal(1, r.FailedPairs);
        // Right: genuine 0.9 0.8 0.6, impostor 0.3 0.2 0.1. Wrong: genuine 0.35, failed, impostor 0.7.
        Assert.Equal(6.0 / 9, r.Accuracy, 12);
        Assert.Equal(1.0 / 4, r.Far, 12);  // 0.7
        Assert.Equal(2.0 / 5, r.Frr, 12);  // 0.35 and the failed pair
    }

    [Fact]
    public void Compute_BestThresholdAndEer_OverObservedScores()
    {
        var r = VerificationMetrics.Compute(Example, 0.5f);
        // t = 0.35 accepts all 4 scored genuine and rejects 0.3 0.2 0.1: 7 of 9 right; no other t gets 7.
        Assert.Equal(0.35f, r.BestThreshold);
        Assert.Equal(7.0 / 9, r.BestAccuracy, 12);
        // |FAR − FRR| is smallest at t = 0.35: FAR 1/4, FRR 1/5 → EER (0.25 + 0.2) / 2.
        Assert.Equal(0.225, r.Eer, 12);
    }

    [Fact]
    public void Compute_TarAtFar_WithFourImpostors_AllowsNoFalseAccept()
    {
        var r = VerificationMetrics.Compute(Example, 0.5f);
        // floor(0.01·4) = 0 false accepts: threshold just above 0.7 → genuine 0.9 and 0.8 of 5.
        Assert.Equal(2.0 / 5, r.TarAtFar1e2, 12);
        Assert.Equal(2.0 / 5, r.TarAtFar1e3, 12);
    }

    [Fact]
    public void Compute_FailedImpostor_IsWrongButNotAFalseAccept()
    {
        var r = VerificationMetrics.Compute([G(0.9f), I(null), I(0.1f)], 0.5f);
        Assert.Equal(2.0 / 3, r.Accuracy, 12);
        Assert.Equal(0, r.Far);
        Assert.Equal(0, r.Frr);
    }

    [Fact]
    public void Compute_ScoreEqualToThreshold_IsAccepted()
    {
        var r = VerificationMetrics.Compute([G(0.5f), I(0.5f)], 0.5f);
        Assert.Equal(1, r.Far);
        Assert.Equal(0, r.Frr);
        Assert.Equal(0.5, r.Accuracy, 12);
    }

    [Fact]
    public void Compute_NoPairs_Throws()
    {
        Assert.Throws<ArgumentException>(() => VerificationMetrics.Compute([], 0.5f));
    }

    private static float[] Impostors1000() => Enumerable.Range(0, 1000).Select(i => i / 1000f).ToArray();

    [Fact]
    public void TarAtFar_AllowsFloorOfTargetTimesImpostorCount()
    {
        var impostor = Impostors1000(); // 0.000 … 0.999, sorted
        float[] genuine = [0.5f, 989 / 1000f, 0.9895f, 0.995f, 0.9985f];
        // 1e-2 · 1000 = 10 false accepts allowed: impostors 0.990 … 0.999; genuine must beat 0.989 strictly.
        Assert.Equal(3.0 / 5, VerificationMetrics.TarAtFar(genuine, impostor, 1e-2), 12);
        // 1e-3 · 1000 = 1: only impostor 0.999; genuine must beat 0.998.
        Assert.Equal(1.0 / 5, VerificationMetrics.TarAtFar(genuine, impostor, 1e-3), 12);
        // 0.0015 · 1000 = 1.5 → floor 1: same as 1e-3.
        Assert.Equal(1.0 / 5, VerificationMetrics.TarAtFar(genuine, impostor, 0.0015), 12);
    }

    [Fact]
    public void TarAtFar_MatchesBruteForceSearch()
    {
        var rnd = new Random(11);
        var impostor = Enumerable.Range(0, 1000).Select(_ => (float)Math.Round(rnd.NextDouble() * 0.6, 2)).OrderBy(x => x).ToArray(); // many ties
        var genuine = Enumerable.Range(0, 300).Select(_ => (float)Math.Round(0.3 + rnd.NextDouble() * 0.6, 2)).OrderBy(x => x).ToArray();
        foreach (var target in new[] { 1e-2, 1e-3, 0.05 })
        {
            // Lowest threshold among all observed scores (and +∞) whose FAR ≤ target; TAR there.
            var candidates = impostor.Concat(genuine).Append(float.PositiveInfinity).Distinct().OrderBy(x => x);
            var t = candidates.First(c => impostor.Count(s => s >= c) <= target * impostor.Length + 1e-9);
            var expected = genuine.Count(s => s >= t) / (double)genuine.Length;
            Assert.Equal(expected, VerificationMetrics.TarAtFar(genuine, impostor, target), 12);
        }
    }

    [Fact]
    public void ThresholdAtFar_IsJustAboveTheLastRejectedImpostor()
    {
        var impostor = Enumerable.Range(1, 10).Select(i => i / 10f).Reverse().ToArray(); // unsorted input
        var t = VerificationMetrics.ThresholdAtFar(impostor, 0.1); // 1 of 10 may pass: only 1.0
        Assert.Equal(MathF.BitIncrement(0.9f), t);
        Assert.Equal(1, impostor.Count(s => s >= t));
        Assert.Equal(MathF.BitIncrement(1.0f), VerificationMetrics.ThresholdAtFar(impostor, 0)); // none may pass
        Assert.Equal(-float.MaxValue, VerificationMetrics.ThresholdAtFar(impostor, 1)); // every real score, never a failed (−∞) one
        Assert.Throws<ArgumentException>(() => VerificationMetrics.ThresholdAtFar([], 0.1));
    }
}
