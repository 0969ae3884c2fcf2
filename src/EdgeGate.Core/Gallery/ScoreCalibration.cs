namespace EdgeGate.Core.Gallery;

/// <summary>
/// P(same | cosine s) = σ(A·s + B), fitted by logistic regression on labelled pairs. Reported next to every
/// similarity so an operator reads a probability, not a raw model score whose scale differs per model.
/// </summary>
public sealed record ScoreCalibration(double A, double B)
{
    public float Probability(float similarity) => (float)(1 / (1 + Math.Exp(-(A * similarity + B))));

    /// <summary>
    /// Newton–Raphson (IRLS) on the log-loss with a weak ridge on A, so perfectly separable data (common on small
    /// dev sets) still gives a finite, if steep, curve. Classes are weighted equally.
    /// </summary>
    public static ScoreCalibration Fit(IReadOnlyList<(float Score, bool Same)> samples, double ridge = 1e-3, int iterations = 100)
    {
        var pos = samples.Count(s => s.Same);
        var neg = samples.Count - pos;
        if (pos == 0 || neg == 0) throw new ArgumentException("calibration needs both same and different pairs");
        double wPos = samples.Count / (2.0 * pos), wNeg = samples.Count / (2.0 * neg);
        double a = 1, b = 0;
        for (var it = 0; it < iterations; it++)
        {
            double ga = ridge * a, gb = 0, haa = ridge, hab = 0, hbb = 1e-9;
            foreach (var (s, same) in samples)
            {
                var p = 1 / (1 + Math.Exp(-(a * s + b)));
                var w = same ? wPos : wNeg;
                var r = (p - (same ? 1 : 0)) * w;
                var h = p * (1 - p) * w;
                ga += r * s; gb += r;
                haa += h * s * s; hab += h * s; hbb += h;
            }
            var det = haa * hbb - hab * hab;
            if (det <= 1e-18) break;
            var da = (hbb * ga - hab * gb) / det;
            var db = (haa * gb - hab * ga) / det;
            a -= da; b -= db;
            if (Math.Abs(da) + Math.Abs(db) < 1e-9) break;
        }
        return new ScoreCalibration(a, b);
    }

    /// <summary>Mean log-loss (natural log), to compare calibrations on held-apart pairs.</summary>
    public double LogLoss(IReadOnlyList<(float Score, bool Same)> samples)
    {
        double sum = 0;
        foreach (var (s, same) in samples)
        {
            var p = Math.Clamp(Probability(s), 1e-7, 1 - 1e-7);
            sum -= same ? Math.Log(p) : Math.Log(1 - p);
        }
        return sum / samples.Count;
    }
}
