using EdgeGate.Core.Gallery;

namespace EdgeGate.Core.Tests;

public class CalibrationTests
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>Scores uniform on [0, 0.8] (symmetric about 0.4, where σ(10s − 4) = ½, so the classes are balanced); labels drawn from σ(10s − 4).</summary>
    private static List<(float Score, bool Same)> Logistic(int n, int seed)
    {
        var rnd = new Random(seed);
        var list = new List<(float, bool)>(n);
        for (var i = 0; i < n; i++)
        {
            var s = (float)(rnd.NextDouble() * 0.8);
            list.Add((s, rnd.NextDouble() < Sigmoid(10 * s - 4)));
        }
        return list;
    }

    [Fact]
    public void Fit_RecoversTheGeneratingLogistic()
    {
        var c = ScoreCalibration.Fit(Logistic(20_000, seed: 42));
        // Standard errors at n = 20k are ≈ 0.15 for A and ≈ 0.07 for B.
        Assert.InRange(c.A, 9.4, 10.6);
        Assert.InRange(c.B, -4.3, -3.7);
    }

    [Fact]
    public void Fit_IsAStationaryPointOfTheClassWeightedLogLoss()
    {
        var data = Logistic(500, seed: 3);
        var c = ScoreCalibration.Fit(data, ridge: 0);
        var loss = WeightedLoss(data, c.A, c.B);
        foreach (var (da, db) in new[] { (0.05, 0.0), (-0.05, 0.0), (0.0, 0.05), (0.0, -0.05), (0.03, -0.03) })
            Assert.True(WeightedLoss(data, c.A + da, c.B + db) > loss, $"loss falls at ({da}, {db})");
    }

    [Fact]
    public void Fit_WeightsClassesEqually_SoDuplicatingOneClassChangesNothing()
    {
        var data = Logistic(2_000, seed: 5);
        var doubled = data.Concat(data.Where(p => !p.Same)).ToList();
        var c1 = ScoreCalibration.Fit(data, ridge: 0);
        var c2 = ScoreCalibration.Fit(doubled, ridge: 0);
        Assert.Equal(c1.A, c2.A, 1e-4);
        Assert.Equal(c1.B, c2.B, 1e-4);
    }

    [Fact]
    public void Fit_SeparableData_GivesFiniteSteepCurve()
    {
        var data = new List<(float, bool)> { (0.6f, true), (0.7f, true), (0.8f, true), (0.1f, false), (0.2f, false), (0.3f, false) };
        var c = ScoreCalibration.Fit(data);
        Assert.True(double.IsFinite(c.A) && double.IsFinite(c.B));
        Assert.True(c.Probability(0.7f) > 0.9f);
        Assert.True(c.Probability(0.2f) < 0.1f);
    }

    [Fact]
    public void Fit_NeedsBothClasses()
    {
        Assert.Throws<ArgumentException>(() => ScoreCalibration.Fit([(0.5f, true), (0.9f, true)]));
        Assert.Throws<ArgumentException>(() => ScoreCalibration.Fit([(0.5f, false)]));
    }

    [Fact]
    public void Probability_IsMonotoneInSimilarity()
    {
        var c = ScoreCalibration.Fit(Logistic(2_000, seed: 9));
        var previous = -1f;
        for (var s = -1f; s <= 1f; s += 0.05f)
        {
            var p = c.Probability(s);
            Assert.True(p >= previous, $"P({s}) = {p} < {previous}");
            previous = p;
        }
        Assert.True(c.Probability(0.8f) > c.Probability(0.2f));
    }

    [Fact]
    public void Probability_IsTheLogistic()
    {
        var c = new ScoreCalibration(10, -4);
        Assert.Equal(0.5f, c.Probability(0.4f), 5);
        Assert.Equal((float)Sigmoid(2), c.Probability(0.6f), 5);
    }

    [Fact]
    public void LogLoss_MatchesHandComputation()
    {
        var c = new ScoreCalibration(2, 0);
        Assert.Equal(Math.Log(2), c.LogLoss([(0f, true)]), 6);
        var expected = (-Math.Log(Sigmoid(2)) - Math.Log(1 - Sigmoid(2))) / 2;
        Assert.Equal(expected, c.LogLoss([(1f, true), (1f, false)]), 5);
    }

    [Fact]
    public void LogLoss_ClampsCertainWrongAnswers()
    {
        var c = new ScoreCalibration(1000, 0);
        Assert.Equal(-Math.Log(1e-7), c.LogLoss([(1f, false)]), 3);
    }

    private static double WeightedLoss(List<(float Score, bool Same)> data, double a, double b)
    {
        int pos = data.Count(d => d.Same), neg = data.Count - pos;
        double sum = 0;
        foreach (var (s, same) in data)
        {
            var p = Sigmoid(a * s + b);
            sum += same ? -Math.Log(p) / pos : -Math.Log(1 - p) / neg;
        }
        return sum;
    }
}
