using EdgeGate.Core.Faces;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests;

public class EmbedderTests
{
    private const int Side = FaceAligner.Size, Pixels = Side * Side, Dim = FaceEmbedder.Dimension;

    private static FakeModel NewModel(Func<int, float[]> outputForRun)
    {
        var model = new FakeModel(Pixels * 3, Dim);
        model.OnRun = (run, outputs) => outputForRun(run).CopyTo(outputs[0], 0);
        return model;
    }

    private static float[] Vector(int seed)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, Dim).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray();
    }

    private static byte[] RandomFace(int seed)
    {
        var face = new byte[Pixels * 3];
        new Random(seed).NextBytes(face);
        return face;
    }

    private static double Norm(float[] v) => Math.Sqrt(v.Sum(x => (double)x * x));

    [Fact]
    public void Embed_WithoutFlip_RunsOnce_AndReturnsUnitLengthModelOutput()
    {
        var raw = Vector(1);
        var model = NewModel(_ => raw);
        using var embedder = new FaceEmbedder(model, "m", flipAugment: false);
        var e = embedder.Embed(RandomFace(1));
        Assert.Equal(1, model.Runs);
        Assert.Equal(1.0, Norm(e), 5);
        var n = Norm(raw);
        for (var i = 0; i < Dim; i += 37) Assert.Equal(raw[i] / n, e[i], 5);
    }

    [Fact]
    public void Embed_WithFlip_SumsBothRunsThenNormalises()
    {
        float[] first = Vector(2), second = Vector(3);
        var model = NewModel(run => run == 0 ? first : second);
        using var embedder = new FaceEmbedder(model, "m", flipAugment: true);
        var e = embedder.Embed(RandomFace(2));
        Assert.Equal(2, model.Runs);
        var sum = first.Zip(second, (a, b) => a + b).ToArray();
        var n = Norm(sum);
        Assert.Equal(1.0, Norm(e), 5);
        for (var i = 0; i < Dim; i += 37) Assert.Equal(sum[i] / n, e[i], 5);
    }

    [Fact]
    public void Embed_WithFlip_SecondInputIsTheMirrorOfTheFirst()
    {
        var model = NewModel(_ => Vector(4));
        using var embedder = new FaceEmbedder(model, "m", flipAugment: true);
        embedder.Embed(RandomFace(3));
        float[] a = model.RecordedInput(0), b = model.RecordedInput(1);
        Assert.NotEqual(a, b);
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < Side; y += 7)
                for (var x = 0; x < Side; x++)
                    Assert.Equal(a[c * Pixels + y * Side + x], b[c * Pixels + y * Side + (Side - 1 - x)]);
    }

    [Fact]
    public void Embed_InputIsBgrPlanesCentredAndScaledBy127_5()
    {
        var model = NewModel(_ => Vector(5));
        using var embedder = new FaceEmbedder(model, "m", flipAugment: false);
        var face = new byte[Pixels * 3];
        for (var i = 0; i < face.Length; i += 3) { face[i] = 10; face[i + 1] = 20; face[i + 2] = 30; }
        embedder.Embed(face);
        var input = model.RecordedInput(0);
        Assert.Equal((10 - 127.5f) / 127.5f, input[0], 6);
        Assert.Equal((10 - 127.5f) / 127.5f, input[Pixels - 1], 6);
        Assert.Equal((20 - 127.5f) / 127.5f, input[Pixels], 6);
        Assert.Equal((30 - 127.5f) / 127.5f, input[2 * Pixels], 6);
        Assert.Equal((30 - 127.5f) / 127.5f, input[3 * Pixels - 1], 6);
    }

    [Fact]
    public void Embed_RejectsWrongSizes()
    {
        using var embedder = new FaceEmbedder(NewModel(_ => Vector(6)), "m");
        Assert.Throws<ArgumentException>(() => embedder.Embed(new byte[Pixels * 3 - 1]));
        Assert.Throws<ArgumentException>(() => embedder.Embed(new byte[Pixels * 3], new float[Dim - 1]));
    }

    [Fact]
    public void Embed_ZeroModelOutput_Throws()
    {
        using var embedder = new FaceEmbedder(NewModel(_ => new float[Dim]), "m");
        Assert.Throws<InvalidOperationException>(() => embedder.Embed(RandomFace(7)));
    }

    [Fact]
    public void Normalize_ScalesToUnitLength()
    {
        float[] v = [3, 0, -4];
        Embeddings.Normalize(v);
        Assert.Equal([0.6f, 0f, -0.8f], v);
    }

    [Fact]
    public void Normalize_ZeroOrNonFiniteVector_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => Embeddings.Normalize(new float[4]));
        Assert.Throws<InvalidOperationException>(() => Embeddings.Normalize(new[] { 1f, float.NaN }));
        Assert.Throws<InvalidOperationException>(() => Embeddings.Normalize(new[] { 1f, float.PositiveInfinity }));
    }

    [Fact]
    public void Cosine_IsDotProduct_AndRejectsDifferentLengths()
    {
        Assert.Equal(0.6f * 0.8f + 0.8f * 0.6f, Embeddings.Cosine([0.6f, 0.8f], [0.8f, 0.6f]), 6);
        Assert.Throws<ArgumentException>(() => Embeddings.Cosine([1f], [1f, 0f]));
    }
}
