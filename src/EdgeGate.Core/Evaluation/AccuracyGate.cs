using EdgeGate.Core.Gallery;

namespace EdgeGate.Core.Evaluation;

/// <summary>What a candidate embedder must keep of the reference's behaviour to replace it.</summary>
public sealed record AccuracyGateLimits
{
    /// <summary>Mean cosine between the two models' (unit) embeddings of the same image.</summary>
    public double MinMeanCosine { get; init; } = 0.99;

    /// <summary>Fraction of pairs whose accept/reject decision at the operating threshold differs.</summary>
    public double MaxFlippedFraction { get; init; } = 0.01;

    /// <summary>How far TAR at the operating FAR may fall (0.005 = half a percentage point).</summary>
    public double MaxTarDrop { get; init; } = 0.005;

    /// <summary>The threshold the door decides at (τ_verify).</summary>
    public float Threshold { get; init; } = 0.40f;

    /// <summary>The FAR at which TAR is compared.</summary>
    public double OperatingFar { get; init; } = 1e-3;

    public override string ToString() =>
        $"mean cosine >= {MinMeanCosine}, flipped <= {MaxFlippedFraction:P1} at τ {Threshold}, TAR drop at FAR {OperatingFar:G2} <= {MaxTarDrop * 100:0.##} points";
}

/// <summary>The gate's figures for one candidate; <see cref="Failures"/> is empty when it passed.</summary>
public sealed record AccuracyGateReport(
    int Images,
    int Pairs,
    double MeanCosine,
    double MinCosine,
    int Flipped,
    double FlippedFraction,
    double TarReference,
    double TarCandidate,
    IReadOnlyList<string> Failures)
{
    public bool Passed => Failures.Count == 0;

    public override string ToString() =>
        $"mean cosine {MeanCosine:F5} (min {MinCosine:F4}) over {Images} images; {Flipped} of {Pairs} decisions flipped ({FlippedFraction:P2}); " +
        $"TAR {TarReference:P2} -> {TarCandidate:P2}";
}

/// <summary>
/// Compares a candidate embedder with the reference on labelled pairs: the same images embedded by both, each
/// pair scored by each. An image either model could not embed fails the gate (the candidate must embed what the
/// reference does). No native code: callers bring the embeddings.
/// </summary>
public static class AccuracyGate
{
    /// <param name="reference">unit embeddings from the reference model, by image.</param>
    /// <param name="candidate">unit embeddings from the candidate model, same keys.</param>
    /// <param name="pairs">pairs over those images.</param>
    /// <param name="templateModel">
    /// which embeddings stand for the enrolled side of a pair when scoring the candidate: null = the candidate's
    /// own (both sides re-embedded), or <paramref name="reference"/> (a gallery enrolled before switching).
    /// </param>
    public static AccuracyGateReport Evaluate(
        IReadOnlyDictionary<string, float[]> reference,
        IReadOnlyDictionary<string, float[]> candidate,
        IReadOnlyList<LabelledPair> pairs,
        AccuracyGateLimits limits,
        IReadOnlyDictionary<string, float[]>? templateModel = null)
    {
        if (pairs.Count == 0) throw new ArgumentException("no pairs", nameof(pairs));
        var failures = new List<string>();
        var images = pairs.SelectMany(p => new[] { p.A, p.B }).Distinct(StringComparer.Ordinal).ToList();
        var missing = images.Where(i => !reference.ContainsKey(i) || !candidate.ContainsKey(i)).ToList();
        if (missing.Count > 0) failures.Add($"{missing.Count} image(s) have no embedding from one of the models (first: {missing[0]})");

        double sum = 0, min = 1;
        var n = 0;
        foreach (var image in images)
        {
            if (!reference.TryGetValue(image, out var r) || !candidate.TryGetValue(image, out var c)) continue;
            var cos = Cosine(r, c);
            sum += cos; min = Math.Min(min, cos); n++;
        }
        var mean = n == 0 ? 0 : sum / n;

        var enrolled = templateModel ?? candidate;
        var refScores = new List<ScoredPair>(pairs.Count);
        var candScores = new List<ScoredPair>(pairs.Count);
        var flipped = 0;
        foreach (var p in pairs)
        {
            float? rs = reference.TryGetValue(p.A, out var ra) && reference.TryGetValue(p.B, out var rb) ? (float)Cosine(ra, rb) : null;
            float? cs = enrolled.TryGetValue(p.A, out var ca) && candidate.TryGetValue(p.B, out var cb) ? (float)Cosine(ca, cb) : null;
            refScores.Add(new ScoredPair(rs, p.Same));
            candScores.Add(new ScoredPair(cs, p.Same));
            if (Accepts(rs, limits.Threshold) != Accepts(cs, limits.Threshold)) flipped++;
        }
        var tarRef = TarAtFar(refScores, limits.OperatingFar);
        var tarCand = TarAtFar(candScores, limits.OperatingFar);
        var flippedFraction = (double)flipped / pairs.Count;

        if (!(mean >= limits.MinMeanCosine)) failures.Add($"mean cosine to the reference {mean:F5} < {limits.MinMeanCosine}");
        if (!(flippedFraction <= limits.MaxFlippedFraction))
            failures.Add($"{flipped} of {pairs.Count} decisions flipped at τ {limits.Threshold} ({flippedFraction:P2} > {limits.MaxFlippedFraction:P1})");
        // A small epsilon so equal TARs computed through different float paths never fail on rounding.
        if (tarRef - tarCand > limits.MaxTarDrop + 1e-12)
            failures.Add($"TAR at FAR {limits.OperatingFar:G2} fell from {tarRef:P2} to {tarCand:P2} (more than {limits.MaxTarDrop * 100:0.##} points)");
        return new AccuracyGateReport(n, pairs.Count, mean, n == 0 ? 0 : min, flipped, flippedFraction, tarRef, tarCand, failures);
    }

    private static bool Accepts(float? score, float threshold) => score is { } s && s >= threshold;

    private static double TarAtFar(List<ScoredPair> scored, double far)
    {
        var genuine = scored.Where(s => s.Same).Select(s => s.Score ?? float.NegativeInfinity).Order().ToArray();
        var impostor = scored.Where(s => !s.Same).Select(s => s.Score ?? float.NegativeInfinity).Order().ToArray();
        return VerificationMetrics.TarAtFar(genuine, impostor, far);
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("embeddings of different lengths");
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++) { dot += (double)a[i] * b[i]; na += (double)a[i] * a[i]; nb += (double)b[i] * b[i]; }
        return na > 0 && nb > 0 ? dot / Math.Sqrt(na * nb) : 0;
    }

    /// <summary>
    /// The operating point re-derived for a model from its scores on labelled pairs, by the rule that chose the
    /// original's (README, "Thresholds"): τ_verify = the highest impostor score + 0.05, to two decimals;
    /// τ_identify = τ_verify + 0.05 with a 0.05 margin; P(same) a logistic fit with ridge 0.01.
    /// </summary>
    public static (MatchOptions Match, ScoreCalibration Calibration) DeriveOperatingPoint(IReadOnlyList<ScoredPair> scored)
    {
        var impostor = scored.Where(s => !s.Same && s.Score is not null).Select(s => s.Score!.Value).ToList();
        if (impostor.Count == 0 || !scored.Any(s => s.Same && s.Score is not null))
            throw new ArgumentException("deriving thresholds needs scored genuine and impostor pairs");
        var verify = (float)Math.Round(impostor.Max() + 0.05, 2, MidpointRounding.AwayFromZero);
        var match = new MatchOptions { VerifyThreshold = verify, IdentifyThreshold = verify + 0.05f, IdentifyMargin = 0.05f };
        var calibration = ScoreCalibration.Fit(scored.Where(s => s.Score is not null).Select(s => (s.Score!.Value, s.Same)).ToList(), ridge: 0.01);
        return (match, calibration);
    }
}
