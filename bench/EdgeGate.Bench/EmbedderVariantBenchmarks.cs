using BenchmarkDotNet.Attributes;
using EdgeGate.Camera;
using EdgeGate.Composition;
using EdgeGate.Core.Faces;
using EdgeGate.Onnx;

namespace EdgeGate.Bench;

/// <summary>
/// One fr_feature run on a real aligned face, for each embedder variant at graph optimisation levels 1, 2 and 99,
/// with 1 and 2 intra-op threads: the measurement behind <see cref="EmbedderVariants.DefaultGraphOptimizationLevel"/>.
/// The fast variant must have been prepared first (edgegate model prepare; found in $EDGEGATE_PREPARED or
/// &lt;assets&gt;/prepared).
/// </summary>
[MedianColumn]
public class EmbedderVariantBenchmarks
{
    private FaceEmbedder _embedder = null!;
    private readonly byte[] _aligned = new byte[FaceAligner.Size * FaceAligner.Size * 3];
    private readonly float[] _embedding = new float[FaceEmbedder.Dimension];

    [Params(EmbedderVariants.Original, EmbedderVariants.Fast, EmbedderVariants.Int8)]
    public string Variant { get; set; } = EmbedderVariants.Original;

    [Params(1, 2, 99)]
    public int Level { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var root = AssetLocator.Root();
        // Align the bench photo with the original stack, as the product does before embedding.
        using (var stack = FaceStack.Create(new FaceStackOptions { AssetsRoot = root, EmbedderVariant = EmbedderVariants.Original }))
        using (var frame = stack.Decoder.DecodeFile(BenchData.Photo))
            stack.Engine.Observe(frame)[0].AlignedBgr.CopyTo(_aligned);
        var choice = FaceModels.ChooseEmbedder(new FaceModelOptions
        {
            ModelsDirectory = AssetLocator.ModelsDirectory(root),
            PreparedDirectory = AssetLocator.PreparedDirectory(root),
            EmbedderVariant = Variant,
            EmbedderGraphOptimizationLevel = Level,
        });
        var runtime = OrtRuntime.Load(AssetLocator.OnnxRuntimeLibrary(root));
        var model = OnnxModel.Load(runtime, choice.ModelPath,
            new OnnxSessionOptions { IntraOpThreads = Threads, GraphOptimizationLevel = choice.GraphOptimizationLevel },
            FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
        _embedder = new FaceEmbedder(model, choice.ModelId, flipAugment: false);
    }

    [Benchmark(Description = "embed fr_feature, one run")]
    public float Embed()
    {
        _embedder.Embed(_aligned, _embedding);
        return _embedding[0];
    }

    [GlobalCleanup]
    public void Cleanup() => _embedder.Dispose();
}
