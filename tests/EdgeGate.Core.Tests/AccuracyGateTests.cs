using EdgeGate.Core.Evaluation;

namespace EdgeGate.Core.Tests;

/// <summary>The int8 accuracy gate's arithmetic on hand-made 2-D embeddings whose cosines are known exactly.</summary>
public class AccuracyGateTests
{
    /// <summary>A unit vector at <paramref name="degrees"/>: the cosine between two of them is cos(difference).</summary>
    private static float[] At(double degrees) => [(float)Math.Cos(degrees * Math.PI / 180), (float)Math.Sin(degrees * Math.PI / 180)];

    // Images a..h at angles; genuine pairs close together, impostor pairs far apart.
    private static readonly Dictionary<string, double> Angles = new()
    {
        ["a1"] = 0, ["a2"] = 20, ["b1"] = 90, ["b2"] = 110, ["c1"] = 180, ["c2"] = 200, ["d1"] = 270, ["d2"] = 290,
    };

    private static readonly LabelledPair[] Pairs =
    [
        new("a1", "a2", true), new("b1", "b2", true), new("c1", "c2", true), new("d1", "d2", true),
        new("a1", "b1", false), new("b1", "c1", false), new("c1", "d1", false), new("d1", "a2", false),
    ];

    private static Dictionary<string, float[]> Embed(Func<string, double, double>? turn = null) =>
        Angles.ToDictionary(kv => kv.Key, kv => At(turn is null ? kv.Value : turn(kv.Key, kv.Value)));

    private static readonly AccuracyGateLimits Limits = new() { Threshold = 0.5f, OperatingFar = 0.25 };

    [Fact]
    public void AnIdenticalCandidate_Passes_WithCosineOne_AndNothingFlipped()
    {
        var r = AccuracyGate.Evaluate(Embed(), Embed(), Pairs, Limits);
        Assert.True(r.Passed, string.Join("; ", r.Failures));
        Assert.Equal(8, r.Images);
        Assert.Equal(1.0, r.MeanCosine, 6);
        Assert.Equal(0, r.Flipped);
        Assert.Equal(1.0, r.TarReference);
        Assert.Equal(r.TarReference, r.TarCandidate);
    }

    [Fact]
    public void MeanCosine_IsTheAverageOverImages_OfTheCosineBetweenTheModels()
    {
        // Turning one image of eight by 60° gives it cosine 0.5 to itself: the mean is (7 + 0.5) / 8.
        var candidate = Embed((k, a) => k == "c2" ? a + 60 : a);
        var r = AccuracyGate.Evaluate(Embed(), candidate, Pairs, Limits with { MaxFlippedFraction = 1, MaxTarDrop = 1 });
        Assert.Equal(7.5 / 8, r.MeanCosine, 6);
        Assert.Equal(0.5, r.MinCosine, 6);
        Assert.Contains(r.Failures, f => f.StartsWith("mean cosine"));
    }

    [Fact]
    public void FlippedDecisions_AreCountedAtTheOperatingThreshold()
    {
        // c2 turned by 60°: the genuine pair c1–c2 goes from cos 20° (0.94, accept) to cos 80° (0.17, reject).
        var candidate = Embed((k, a) => k == "c2" ? a + 60 : a);
        var r = AccuracyGate.Evaluate(Embed(), candidate, Pairs, Limits with { MinMeanCosine = 0 });
        Assert.Equal(1, r.Flipped);
        Assert.Equal(1.0 / 8, r.FlippedFraction, 12);
        Assert.Contains(r.Failures, f => f.Contains("1 of 8 decisions flipped"));
        Assert.True(AccuracyGate.Evaluate(Embed(), candidate, Pairs, Limits with { MinMeanCosine = 0, MaxFlippedFraction = 0.125, MaxTarDrop = 1 }).Passed);
    }

    [Fact]
    public void ATarDrop_OverTheLimit_Fails_AndUpToItPasses()
    {
        // c2 turned by 100°: c1–c2 scores cos 120° = −0.5, below the impostors (cos 90° ≈ 0), so at FAR 0.25 (one
        // impostor of four allowed) one of four genuine pairs is lost: TAR 1 → 0.75.
        var candidate = Embed((k, a) => k == "c2" ? a + 100 : a);
        var r = AccuracyGate.Evaluate(Embed(), candidate, Pairs, Limits with { MinMeanCosine = 0, MaxFlippedFraction = 1 });
        Assert.Equal(1.0, r.TarReference);
        Assert.Equal(0.75, r.TarCandidate);
        Assert.Contains(r.Failures, f => f.StartsWith("TAR at FAR"));
        Assert.True(AccuracyGate.Evaluate(Embed(), candidate, Pairs, Limits with { MinMeanCosine = 0, MaxFlippedFraction = 1, MaxTarDrop = 0.25 }).Passed);
    }

    [Fact]
    public void AnImageOneModelCouldNotEmbed_FailsTheGate()
    {
        var candidate = Embed();
        candidate.Remove("b2");
        var r = AccuracyGate.Evaluate(Embed(), candidate, Pairs, Limits);
        Assert.False(r.Passed);
        Assert.Contains(r.Failures, f => f.Contains("no embedding") && f.Contains("b2"));
        Assert.Equal(7, r.Images);
    }

    [Fact]
    public void CrossScoring_UsesTheReferenceForTheEnrolledSide()
    {
        // Candidate = reference turned by 10° everywhere: own pairs score as before, but a reference template
        // against a candidate probe moves each genuine angle by 10° (20° → 30°, still above 0.5 → same decisions).
        var candidate = Embed((_, a) => a + 10);
        var own = AccuracyGate.Evaluate(Embed(), candidate, Pairs, Limits with { MinMeanCosine = 0.98 });
        var cross = AccuracyGate.Evaluate(Embed(), candidate, Pairs, Limits with { MinMeanCosine = 0.98 }, templateModel: Embed());
        Assert.Equal(Math.Cos(10 * Math.PI / 180), own.MeanCosine, 6);
        Assert.Equal(0, own.Flipped);
        Assert.Equal(0, cross.Flipped);
        // Turned by 80° the cross scores of genuine pairs fall to cos 100° or cos 60°: a/b/c/d pairs 1 and 2 flip.
        var far = Embed((_, a) => a + 80);
        var crossFar = AccuracyGate.Evaluate(Embed(), far, Pairs, Limits with { MinMeanCosine = 0 }, templateModel: Embed());
        Assert.True(crossFar.Flipped > 0);
        Assert.Equal(0, AccuracyGate.Evaluate(Embed(), far, Pairs, Limits with { MinMeanCosine = 0 }).Flipped);
    }

    [Fact]
    public void DerivedOperatingPoint_FollowsTheOriginalsRule()
    {
        // Highest impostor 0.351 → τ_verify 0.40 (the original's), τ_identify 0.45, margin 0.05.
        var scored = new[] { new ScoredPair(0.9f, true), new ScoredPair(0.7f, true), new ScoredPair(0.351f, false), new ScoredPair(0.1f, false) };
        var (match, calibration) = AccuracyGate.DeriveOperatingPoint(scored);
        Assert.Equal(0.40f, match.VerifyThreshold, 5);
        Assert.Equal(0.45f, match.IdentifyThreshold, 5);
        Assert.Equal(0.05f, match.IdentifyMargin, 5);
        Assert.True(calibration.Probability(0.9f) > 0.5 && calibration.Probability(0.1f) < 0.5);
        Assert.Throws<ArgumentException>(() => AccuracyGate.DeriveOperatingPoint([new ScoredPair(0.9f, true)]));
    }
}
