namespace EdgeGate.Core.Evaluation;

/// <summary>A scored pair; <see cref="Score"/> is null when an image of the pair had no usable face.</summary>
public readonly record struct ScoredPair(float? Score, bool Same);

/// <summary>Verification figures. Field names match the CLI's JSON (snake_case there).</summary>
public sealed record VerificationReport(
    int Pairs,
    int FailedPairs,
    float Threshold,
    double Accuracy,
    double Far,
    double Frr,
    float BestThreshold,
    double BestAccuracy,
    double Eer,
    double TarAtFar1e2,
    double TarAtFar1e3);

public static class VerificationMetrics
{
    /// <summary>
    /// A pair that could not be scored never matches: it is a false reject when genuine, a correct reject when not.
    /// For accuracy it always counts as wrong (the system failed to answer), so failures cannot flatter the figure.
    /// </summary>
    public static VerificationReport Compute(IReadOnlyList<ScoredPair> pairs, float threshold)
    {
        if (pairs.Count == 0) throw new ArgumentException("no pairs");
        var genuine = pairs.Where(p => p.Same).Select(p => p.Score ?? float.NegativeInfinity).ToArray();
        var impostor = pairs.Where(p => !p.Same).Select(p => p.Score ?? float.NegativeInfinity).ToArray();
        var failed = pairs.Count(p => p.Score is null);
        Array.Sort(genuine);
        Array.Sort(impostor);

        var (accuracy, far, frr) = At(pairs, threshold, genuine, impostor);

        // Candidate thresholds: every observed score (a pair is accepted when score >= t).
        // Plus one above the highest score: "accept nothing" can be the best answer on degenerate data.
        var observed = pairs.Where(p => p.Score is not null).Select(p => p.Score!.Value).Distinct().OrderBy(s => s).ToList();
        if (observed.Count > 0) observed.Add(MathF.BitIncrement(observed[^1]));
        var candidates = observed;
        float bestT = threshold; double bestAcc = -1, eer = 1, eerGap = double.MaxValue;
        foreach (var t in candidates)
        {
            var (acc, fa, fr) = At(pairs, t, genuine, impostor);
            if (acc > bestAcc) { bestAcc = acc; bestT = t; }
            var gap = Math.Abs(fa - fr);
            if (gap < eerGap) { eerGap = gap; eer = (fa + fr) / 2; }
        }
        return new VerificationReport(pairs.Count, failed, threshold, accuracy, far, frr, bestT, Math.Max(bestAcc, 0), eer,
            TarAtFar(genuine, impostor, 1e-2), TarAtFar(genuine, impostor, 1e-3));
    }

    private static (double Accuracy, double Far, double Frr) At(IReadOnlyList<ScoredPair> pairs, float t, float[] genuine, float[] impostor)
    {
        var correct = 0;
        foreach (var p in pairs)
            if (p.Score is { } s && (s >= t) == p.Same) correct++;
        var falseAccepts = impostor.Length - LowerBound(impostor, t);
        var falseRejects = LowerBound(genuine, t);
        return ((double)correct / pairs.Count,
            impostor.Length == 0 ? 0 : (double)falseAccepts / impostor.Length,
            genuine.Length == 0 ? 0 : (double)falseRejects / genuine.Length);
    }

    /// <summary>
    /// The genuine accept rate at the lowest threshold whose false-accept rate is at most <paramref name="targetFar"/>.
    /// With n impostors, FAR can only be a multiple of 1/n; the strictest allowed count of false accepts is floor(target·n).
    /// </summary>
    public static double TarAtFar(float[] sortedGenuine, float[] sortedImpostor, double targetFar)
    {
        if (sortedGenuine.Length == 0) return 0;
        var allowed = (int)Math.Floor(targetFar * sortedImpostor.Length + 1e-9);
        // Accepting score >= t with t just above the (allowed+1)-th highest impostor score.
        // Failed pairs are stored as −∞ and must never be accepted, so "accept every score" is −MaxValue, not −∞.
        float t;
        if (sortedImpostor.Length == 0 || allowed >= sortedImpostor.Length) t = -float.MaxValue;
        else t = MathF.BitIncrement(sortedImpostor[sortedImpostor.Length - 1 - allowed]);
        var accepted = sortedGenuine.Length - LowerBound(sortedGenuine, t);
        return (double)accepted / sortedGenuine.Length;
    }

    /// <summary>Threshold (score ≥ t accepts) with at most <paramref name="targetFar"/> of impostor pairs accepted.</summary>
    public static float ThresholdAtFar(IEnumerable<float> impostorScores, double targetFar)
    {
        var s = impostorScores.OrderBy(x => x).ToArray();
        if (s.Length == 0) throw new ArgumentException("no impostor scores");
        var allowed = (int)Math.Floor(targetFar * s.Length + 1e-9);
        return allowed >= s.Length ? -float.MaxValue : MathF.BitIncrement(s[s.Length - 1 - allowed]);
    }

    /// <summary>Number of elements strictly below <paramref name="value"/> in a sorted array.</summary>
    private static int LowerBound(float[] sorted, float value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
