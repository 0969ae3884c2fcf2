using EdgeGate.Core.Faces;
using EdgeGate.ModelPrep;
using EdgeGate.Onnx;
using Xunit.Abstractions;
using OnnxProto = global::Onnx;

namespace EdgeGate.Integration.Tests.ModelPrep;

/// <summary>`model prepare` against the real fr_feature.onnx, real ONNX Runtime and real aligned faces.</summary>
public sealed class ModelPreparerTests(PreparedModelFixture fx, ITestOutputHelper output) : IClassFixture<PreparedModelFixture>
{
    private PrepareResult? PreparedOrSkip()
    {
        if (fx.Prepared is null) output.WriteLine("SKIPPED: no face photos (set EDGEGATE_FACES)");
        return fx.Prepared;
    }

    [Fact]
    public void PreparedModel_HasNoPRelu_EveryOneReplaced_OpsetKept()
    {
        if (PreparedOrSkip() is not { } p) return;
        var original = OnnxGraphs.Read(fx.OriginalPath);
        var fast = OnnxGraphs.Read(p.ModelPath);
        Assert.Equal(33, OnnxGraphs.CountOps(original, "PRelu"));
        Assert.Equal(0, OnnxGraphs.CountOps(fast, "PRelu"));
        Assert.Equal(33, p.Card.NodesReplaced);
        Assert.Equal(OnnxGraphs.CountOps(original, "Conv") + 2 * 33, OnnxGraphs.CountOps(fast, "Conv"));
        Assert.Equal(OnnxGraphs.DefaultOpset(original), OnnxGraphs.DefaultOpset(fast)); // 9: nothing needed an upgrade
        // No dangling slope: every graph input is the image or a tensor the model carries, and every one is read.
        var carried = fast.Graph.Initializer.Select(t => t.Name).ToHashSet();
        Assert.All(fast.Graph.Input, i => Assert.True(i.Name == "input" || carried.Contains(i.Name), i.Name));
        var read = fast.Graph.Node.SelectMany(n => n.Input).ToHashSet();
        Assert.All(carried, name => Assert.Contains(name, read));
        Assert.Equal(original.Graph.Output.Select(o => o.Name), fast.Graph.Output.Select(o => o.Name));
    }

    [Fact]
    public void PreparedModel_GivesTheOriginalsEmbeddings_OnFacesItWasNotVerifiedOn()
    {
        if (PreparedOrSkip() is not { } p) return;
        Assert.InRange(p.Card.Verification.MaxAbsDiff, 0, 1e-5);
        Assert.NotEmpty(fx.UnseenFaces);
        // Through the product's own embedder (face + mirror, normalised), at each variant's default level.
        using var original = new FaceEmbedder(Load(fx.OriginalPath, EmbedderVariants.Original), "x");
        using var fast = new FaceEmbedder(Load(p.ModelPath, EmbedderVariants.Fast), "x");
        var worst = 0f;
        foreach (var face in fx.UnseenFaces)
        {
            var a = original.Embed(face);
            var b = fast.Embed(face);
            for (var i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        }
        output.WriteLine($"max |Δ| over {fx.UnseenFaces.Count} unseen faces: {worst:G3}");
        Assert.InRange(worst, 0f, 1e-5f);
    }

    [Fact]
    public void AtLevel99_OrtRunsTheWholeFastGraphInItsBlockedLayout()
    {
        if (PreparedOrSkip() is not { } p) return;
        var optimized = Path.Combine(fx.Dir, "fast-optimized.onnx");
        using (OnnxModel.Load(fx.Stack.Runtime, p.ModelPath, new OnnxSessionOptions { GraphOptimizationLevel = 99, OptimizedModelPath = optimized },
                   FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs)) { }
        var graph = OnnxGraphs.Read(optimized).Graph;
        var ops = graph.Node.GroupBy(n => $"{n.Domain}:{n.OpType}").ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", ops.Select(o => $"{o.Key}={o.Value}")));
        Assert.Equal(116, ops.GetValueOrDefault("com.microsoft.nchwc:Conv"));      // 50 + 2 per PRelu, Relu and Add fused
        Assert.Equal(1, ops.Where(o => o.Key.Contains("Reorder")).Sum(o => o.Value)); // once, back to NCHW at the end
        Assert.False(ops.ContainsKey(":PRelu"));
    }

    [Fact]
    public void ModelCard_NamesBothFilesByHash_AndTheCheck()
    {
        if (PreparedOrSkip() is not { } p) return;
        var card = ModelCard.ReadFor(p.ModelPath)!;
        Assert.Equal(EmbedderVariants.Fast, card.Variant);
        Assert.Equal(EmbedderVariants.Sha256(p.ModelPath), card.Sha256);
        Assert.Equal(EmbedderVariants.Sha256(fx.OriginalPath), card.SourceSha256);
        Assert.Equal(PreparedModelFixture.FacesForPreparation, card.Verification.Faces);
        Assert.Equal(4 * PreparedModelFixture.FacesForPreparation, card.Verification.Runs); // face + mirror, levels 99 and 1
        Assert.Equal(1e-5, card.Verification.Tolerance);
        Assert.Contains("DWConv1x1", card.Recipe);
    }

    [Fact]
    public void AWrongRewrite_IsRefused_AndNothingIsWritten()
    {
        if (PreparedOrSkip() is null) return;
        var dir = Path.Combine(fx.Dir, "refused");
        // The right graph with one slope off by 1 %: small enough to look plausible, far outside 1e-5.
        (OnnxProto.ModelProto, int) Wrong(OnnxProto.ModelProto m)
        {
            var (r, n) = PreluRewriter.Rewrite(m);
            var w = r.Graph.Initializer.First(t => t.Name.Contains("_scale_w"));
            var values = OnnxGraphs.Floats(w).Select(v => v * 1.01f).ToArray();
            r.Graph.Initializer[r.Graph.Initializer.IndexOf(w)] = OnnxGraphs.FloatTensor(w.Name, w.Dims.ToArray(), values);
            return (r, n);
        }
        var e = Assert.Throws<ModelRefusedException>(() => ModelPreparer.PrepareFast(fx.Stack.Runtime, Options(dir), Wrong));
        Assert.Contains("not written", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void TooFewFaces_IsRefused()
    {
        var e = Assert.Throws<ModelRefusedException>(() => ModelPreparer.PrepareFast(fx.Stack.Runtime,
            Options(Path.Combine(fx.Dir, "few")) with { AlignedFaces = [new byte[112 * 112 * 3]] }));
        Assert.Contains("at least", e.Message);
        Assert.False(Directory.Exists(Path.Combine(fx.Dir, "few")));
    }

    [Fact]
    public void AMissingSource_IsFileNotFound_NamingIt()
    {
        var missing = Path.Combine(fx.Dir, "no-such.onnx");
        var e = Assert.Throws<FileNotFoundException>(() => ModelPreparer.PrepareFast(fx.Stack.Runtime, Options(Path.Combine(fx.Dir, "m")) with { Source = missing }));
        Assert.Contains(missing, e.Message);
    }

    [Theory]
    [InlineData("text")]
    [InlineData("truncated")]
    public void ACorruptSource_IsInvalidData_NamingIt(string kind)
    {
        var bad = Path.Combine(fx.Dir, $"bad-{kind}.onnx");
        var real = File.ReadAllBytes(fx.OriginalPath);
        File.WriteAllBytes(bad, kind == "text" ? "this is not a model"u8.ToArray() : real[..(real.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => ModelPreparer.PrepareFast(fx.Stack.Runtime, Options(Path.Combine(fx.Dir, "c")) with { Source = bad }));
        Assert.Contains(bad, e.Message);
        Assert.Contains("not an ONNX model", e.Message);
    }

    private PrepareOptions Options(string dir) => new()
    {
        Source = fx.OriginalPath,
        OutputDirectory = dir,
        AlignedFaces = fx.PreparationFaces.Count > 0 ? fx.PreparationFaces : Enumerable.Range(0, 8).Select(_ => new byte[112 * 112 * 3]).ToList(),
        FaceSource = "test",
        Threads = 2,
    };

    private OnnxModel Load(string path, string variant) => OnnxModel.Load(fx.Stack.Runtime, path,
        new OnnxSessionOptions { IntraOpThreads = 2, GraphOptimizationLevel = EmbedderVariants.DefaultGraphOptimizationLevel(variant) },
        FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
}
