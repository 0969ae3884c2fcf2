using EdgeGate.Core.Gallery;

namespace EdgeGate.Core.Tests;

/// <summary>
/// The matrix search (float and int8 pre-pass) against a naive reference: every template's cosine, best template per
/// person, best and second-best person. Random galleries with several templates per person, including clusters of
/// near-duplicates that make the int8 error bound matter.
/// </summary>
public class GalleryMatcherSearchTests
{
    private const string Model = "m";
    private const int Dim = 512;

    private static float[] RandomUnit(Random rng, int dim = Dim)
    {
        var v = new float[dim];
        double n = 0;
        for (var i = 0; i < dim; i++) { v[i] = (float)(rng.NextDouble() * 2 - 1); n += v[i] * v[i]; }
        for (var i = 0; i < dim; i++) v[i] /= (float)Math.Sqrt(n);
        return v;
    }

    /// <summary>A unit vector at cosine ≈ <paramref name="closeness"/> to <paramref name="to"/>.</summary>
    private static float[] Near(Random rng, float[] to, float closeness)
    {
        var noise = RandomUnit(rng, to.Length);
        var v = new float[to.Length];
        var k = MathF.Sqrt(1 - closeness * closeness);
        double n = 0;
        for (var i = 0; i < v.Length; i++) { v[i] = closeness * to[i] + k * noise[i]; n += v[i] * v[i]; }
        for (var i = 0; i < v.Length; i++) v[i] /= (float)Math.Sqrt(n);
        return v;
    }

    private static List<FaceTemplate> Gallery(Random rng, int persons, int maxTemplates, float[] probe, ref long id)
    {
        var list = new List<FaceTemplate>();
        for (var p = 0; p < persons; p++)
        {
            // A third of the people sit close to the probe, so best and runner-up are often within int8 rounding.
            var centre = p % 3 == 0 ? Near(rng, probe, 0.5f + 0.01f * (float)rng.NextDouble()) : RandomUnit(rng);
            var n = 1 + rng.Next(maxTemplates);
            for (var t = 0; t < n; t++)
                list.Add(new FaceTemplate(++id, $"p{p}", Model, Near(rng, centre, 0.97f), 1, DateTimeOffset.UnixEpoch));
        }
        return list;
    }

    /// <summary>Best and second-best person by their best template, in double precision.</summary>
    private static (string? Best, double BestScore, string? Runner, double RunnerScore) Reference(IEnumerable<FaceTemplate> gallery, float[] probe)
    {
        var perPerson = new Dictionary<string, double>();
        foreach (var t in gallery)
        {
            double dot = 0, norm = 0;
            for (var i = 0; i < probe.Length; i++) { dot += (double)probe[i] * t.Embedding[i]; norm += (double)t.Embedding[i] * t.Embedding[i]; }
            var s = dot / Math.Sqrt(norm);
            if (!perPerson.TryGetValue(t.PersonId, out var old) || s > old) perPerson[t.PersonId] = s;
        }
        var ranked = perPerson.OrderByDescending(kv => kv.Value).ToList();
        return (ranked.ElementAtOrDefault(0).Key, ranked.ElementAtOrDefault(0).Value,
                ranked.ElementAtOrDefault(1).Key, ranked.ElementAtOrDefault(1).Value);
    }

    private static GalleryMatcher NewMatcher(SearchPrecision precision) =>
        new(Model, new MatchOptions(), new ScoreCalibration(29.84, -9.97)) { Precision = precision };

    private static void AssertSame((string? Best, double BestScore, string? Runner, double RunnerScore) want, IdentifyResult got)
    {
        // Two people closer than float rounding may come in either order; each score must still be exact.
        Assert.Equal(want.BestScore, got.Best!.Similarity, 5);
        Assert.Equal(want.RunnerScore, got.Runner!.Similarity, 5);
        if (want.BestScore - want.RunnerScore > 1e-5)
        {
            Assert.Equal(want.Best, got.Best.PersonId);
            Assert.Equal(want.Runner, got.Runner.PersonId);
        }
        else Assert.Equal(new[] { want.Best, want.Runner }.Order(), new[] { got.Best.PersonId, got.Runner.PersonId }.Order());
    }

    [Theory]
    [InlineData(SearchPrecision.Float, 1)]
    [InlineData(SearchPrecision.Int8, 1)]
    [InlineData(SearchPrecision.Float, 2)]
    [InlineData(SearchPrecision.Int8, 2)]
    [InlineData(SearchPrecision.Int8, 3)]
    public void BestAndSecondBestPerson_MatchTheNaiveReference(SearchPrecision precision, int seed)
    {
        var rng = new Random(seed);
        long id = 0;
        for (var round = 0; round < 20; round++)
        {
            var probe = RandomUnit(rng);
            var gallery = Gallery(rng, 40 + rng.Next(60), 5, probe, ref id);
            var m = NewMatcher(precision);
            m.Load(gallery);
            AssertSame(Reference(gallery, probe), m.Identify(probe));
        }
    }

    [Fact]
    public void Int8AndFloat_GiveIdenticalResults_OnNearDuplicates()
    {
        var rng = new Random(7);
        var probe = RandomUnit(rng);
        // Every person has a template within 1e-3 of cosine 0.6: only the float re-scoring can order them.
        var gallery = new List<FaceTemplate>();
        for (var p = 0; p < 200; p++)
            gallery.Add(new FaceTemplate(p + 1, $"p{p}", Model, Near(rng, probe, 0.6f + 0.001f * (float)rng.NextDouble()), 1, DateTimeOffset.UnixEpoch));
        var f = NewMatcher(SearchPrecision.Float); f.Load(gallery);
        var q = NewMatcher(SearchPrecision.Int8); q.Load(gallery);
        var a = f.Identify(probe);
        var b = q.Identify(probe);
        Assert.Equal(a.Best, b.Best);
        Assert.Equal(a.Runner, b.Runner);
        AssertSame(Reference(gallery, probe), b);
    }

    [Theory]
    [InlineData(SearchPrecision.Float)]
    [InlineData(SearchPrecision.Int8)]
    public void Ties_GoToTheFirstLoadedPerson_AndAreAmbiguous(SearchPrecision precision)
    {
        var rng = new Random(3);
        var probe = RandomUnit(rng);
        var same = Near(rng, probe, 0.8f);
        var m = NewMatcher(precision);
        m.Load([
            new FaceTemplate(1, "zed", Model, same, 1, DateTimeOffset.UnixEpoch),
            new FaceTemplate(2, "amy", Model, (float[])same.Clone(), 1, DateTimeOffset.UnixEpoch),
            new FaceTemplate(3, "bob", Model, RandomUnit(rng), 1, DateTimeOffset.UnixEpoch),
        ]);
        var r = m.Identify(probe);
        Assert.Equal(IdentifyOutcome.Ambiguous, r.Outcome);
        Assert.Equal("zed", r.Best!.PersonId);
        Assert.Equal("amy", r.Runner!.PersonId);
        Assert.Equal(r.Best.Similarity, r.Runner.Similarity);
    }

    [Theory]
    [InlineData(SearchPrecision.Float)]
    [InlineData(SearchPrecision.Int8)]
    public void IncrementalAddAndRemove_EqualAFullLoadOfTheSameTemplates(SearchPrecision precision)
    {
        var rng = new Random(11);
        long id = 0;
        var probe = RandomUnit(rng);
        var live = Gallery(rng, 60, 4, probe, ref id);
        var m = NewMatcher(precision);
        m.Load(live.Take(10).ToList());
        m.Add(live.Skip(10).ToList());
        for (var step = 0; step < 40; step++)
        {
            if (step % 3 == 2)
            {
                var more = Gallery(rng, 3, 4, probe, ref id).Select(t => t with { PersonId = $"n{step}-{t.PersonId}" }).ToList();
                m.Add(more);
                live.AddRange(more);
            }
            else
            {
                var victim = live[rng.Next(live.Count)].PersonId;
                Assert.Equal(live.Count(t => t.PersonId == victim), m.RemovePerson(victim));
                live.RemoveAll(t => t.PersonId == victim);
            }
            Assert.Equal(live.Count, m.TemplateCount);
            Assert.Equal(live.Select(t => t.PersonId).Distinct().Count(), m.PersonCount);
            AssertSame(Reference(live, probe), m.Identify(probe));
            var someone = live[rng.Next(live.Count)].PersonId;
            var expected = live.Where(t => t.PersonId == someone).Max(t => Reference([t], probe).BestScore);
            Assert.Equal(expected, m.Verify(probe, someone).Similarity, 5);
        }
        Assert.Equal(0, m.RemovePerson("nobody"));
    }

    [Fact]
    public void RemovingEveryone_LeavesAnEmptyGallery_ThatCanBeFilledAgain()
    {
        var rng = new Random(5);
        var m = NewMatcher(SearchPrecision.Auto);
        m.Load([new FaceTemplate(1, "a", Model, RandomUnit(rng), 1, DateTimeOffset.UnixEpoch)]);
        Assert.Equal(1, m.RemovePerson("a"));
        Assert.Equal(IdentifyOutcome.EmptyGallery, m.Identify(RandomUnit(rng)).Outcome);
        var v = RandomUnit(rng);
        m.Add([new FaceTemplate(2, "b", Model, v, 1, DateTimeOffset.UnixEpoch)]);
        Assert.Equal("b", m.Identify(v).PersonId);
    }

    [Fact]
    public void Add_IsAllOrNothing()
    {
        var rng = new Random(9);
        var m = NewMatcher(SearchPrecision.Auto);
        m.Load([new FaceTemplate(1, "a", Model, RandomUnit(rng), 1, DateTimeOffset.UnixEpoch)]);
        Assert.Throws<ArgumentException>(() => m.Add([
            new FaceTemplate(2, "b", Model, RandomUnit(rng), 1, DateTimeOffset.UnixEpoch),
            new FaceTemplate(3, "c", "other-model", RandomUnit(rng), 1, DateTimeOffset.UnixEpoch)]));
        Assert.Throws<ArgumentException>(() => m.Add([new FaceTemplate(1, "a", Model, RandomUnit(rng), 1, DateTimeOffset.UnixEpoch)]));
        Assert.Throws<ArgumentException>(() => m.Add([new FaceTemplate(4, "d", Model, new float[Dim], 1, DateTimeOffset.UnixEpoch)]));
        Assert.Equal(1, m.TemplateCount);
        Assert.Equal(1, m.PersonCount);
    }

    [Fact]
    public void TemplatesAreNormalised_SoAScaledTemplateScoresItsCosine()
    {
        var rng = new Random(13);
        var probe = RandomUnit(rng);
        var t = Near(rng, probe, 0.7f);
        var m = NewMatcher(SearchPrecision.Float);
        m.Load([new FaceTemplate(1, "a", Model, t.Select(x => 3 * x).ToArray(), 1, DateTimeOffset.UnixEpoch)]);
        Assert.Equal(Reference([new FaceTemplate(1, "a", Model, t, 1, default)], probe).BestScore, m.Identify(probe).Best!.Similarity, 5);
    }

    [Fact]
    public void Identify_AllocatesOnlyItsResult()
    {
        var rng = new Random(17);
        long id = 0;
        var probe = RandomUnit(rng);
        foreach (var precision in new[] { SearchPrecision.Float, SearchPrecision.Int8 })
        {
            var m = NewMatcher(precision);
            m.Load(Gallery(rng, 300, 3, probe, ref id));
            m.Identify(probe);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 20; i++) m.Identify(probe);
            var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 20;
            Assert.True(perCall <= 200, $"{precision}: {perCall} bytes per search (the result and its two candidates are ~150)");
        }
    }

    [Fact]
    public void Int8Dot_IsTheExactIntegerSum()
    {
        var rng = new Random(19);
        foreach (var n in new[] { 1, 15, 16, 31, 32, 33, 512, 777 })
        {
            var a = new sbyte[n]; var b = new sbyte[n];
            long want = 0;
            for (var i = 0; i < n; i++) { a[i] = (sbyte)rng.Next(-127, 128); b[i] = (sbyte)rng.Next(-127, 128); want += a[i] * b[i]; }
            Assert.Equal(want, Int8Rows.Dot(a, b));
        }
    }

    [Fact]
    public void Quantize_UsesTheLargestMagnitude_EvenWhenItIsNegative()
    {
        // A loose scale would keep results exact (the bound covers it) but send every row to the float re-scoring.
        float[] v = [-0.9f, 0.3f, 0.1f, -0.2f];
        var q = new sbyte[4];
        var (scale, error) = Int8Rows.Quantize(v, q);
        Assert.Equal(0.9f / 127, scale, 6);
        Assert.Equal(-127, q[0]);
        Assert.Equal(42, q[1]);
        Assert.True(error < scale, $"rounding error {error}");
    }

    [Fact]
    public void Int8DotRows_EqualsTheDotOfEachRow()
    {
        var rng = new Random(23);
        foreach (var dim in new[] { 512, 64, 20 })
        {
            const int rows = 37;
            var probe = new sbyte[dim];
            var matrix = new sbyte[rows * dim];
            for (var i = 0; i < dim; i++) probe[i] = (sbyte)rng.Next(-127, 128);
            for (var i = 0; i < matrix.Length; i++) matrix[i] = (sbyte)rng.Next(-127, 128);
            var sums = Enumerable.Range(0, rows).Select(r => Int8Rows.Sum(matrix.AsSpan(r * dim, dim))).ToArray();
            var got = new int[rows];
            Int8Rows.DotRows(probe, matrix, sums, got);
            for (var r = 0; r < rows; r++) Assert.Equal(Int8Rows.Dot(probe, matrix.AsSpan(r * dim, dim)), got[r]);
        }
    }
}
