using BenchmarkDotNet.Attributes;
using EdgeGate.Camera;
using EdgeGate.Composition;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Onnx;

namespace EdgeGate.Bench;

/// <summary>
/// One stage of the still-image pipeline per benchmark, on a 250×250 LFW photo, with 1 and 2 intra-op threads.
/// Decode and align use no ORT thread, so their two rows show the machine's noise.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class FaceStageBenchmarks
{
    private GstImageDecoder _decoder = null!;
    private byte[] _jpeg = null!;
    private BgrFrame _frame = null!;
    private UltraFaceDetector _detector = null!;
    private LandmarkDetector _landmarks = null!;
    private FaceEmbedder _embedder = null!;
    private FaceEmbedder _embedderNoFlip = null!;
    private FaceBox _box;
    private FivePoints _five;
    private readonly byte[] _aligned = new byte[FaceAligner.Size * FaceAligner.Size * 3];
    private readonly float[] _embedding = new float[FaceEmbedder.Dimension];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var root = AssetLocator.Root();
        var runtime = OrtRuntime.Load(AssetLocator.OnnxRuntimeLibrary(root));
        var models = AssetLocator.ModelsDirectory(root);
        var options = new OnnxSessionOptions { IntraOpThreads = Threads };
        var embedderOptions = options with { GraphOptimizationLevel = EmbedderVariants.DefaultGraphOptimizationLevel(EmbedderVariants.Original) };
        _decoder = new GstImageDecoder();
        _jpeg = File.ReadAllBytes(BenchData.Photo);
        _frame = _decoder.Decode(_jpeg);
        _detector = new UltraFaceDetector(OnnxModel.Load(runtime, Path.Combine(models, "fr_detect.onnx"), options,
            FaceModels.DetectorInputs, FaceModels.DetectorOutputs), new DetectorOptions());
        _landmarks = new LandmarkDetector(OnnxModel.Load(runtime, Path.Combine(models, "fr_landmark.onnx"), options,
            FaceModels.LandmarkInputs, FaceModels.LandmarkOutputs));
        var feature = Path.Combine(models, "fr_feature.onnx");
        _embedder = new FaceEmbedder(OnnxModel.Load(runtime, feature, embedderOptions, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs), "bench", flipAugment: true);
        _embedderNoFlip = new FaceEmbedder(OnnxModel.Load(runtime, feature, embedderOptions, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs), "bench", flipAugment: false);
        _box = _detector.Detect(_frame)[0];
        _five = FivePoints.From68(_landmarks.Detect(_frame, _box));
        FaceAligner.Align(_frame, _five, _aligned);
    }

    [Benchmark(Description = "decode JPEG 250x250")]
    public int Decode()
    {
        using var f = _decoder.Decode(_jpeg);
        return f.Width;
    }

    [Benchmark(Description = "detect (pad + resize + fr_detect + NMS)")]
    public int Detect() => _detector.Detect(_frame).Count;

    [Benchmark(Description = "landmarks (crop + fr_landmark)")]
    public float Landmarks() => _landmarks.Detect(_frame, _box)[30].X;

    [Benchmark(Description = "align 5-point similarity 112x112")]
    public byte Align()
    {
        FaceAligner.Align(_frame, _five, _aligned);
        return _aligned[0];
    }

    [Benchmark(Description = "embed fr_feature, one run")]
    public float Embed()
    {
        _embedderNoFlip.Embed(_aligned, _embedding);
        return _embedding[0];
    }

    [Benchmark(Description = "embed fr_feature + mirror (as used)")]
    public float EmbedWithFlip()
    {
        _embedder.Embed(_aligned, _embedding);
        return _embedding[0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _detector.Dispose();
        _landmarks.Dispose();
        _embedder.Dispose();
        _embedderNoFlip.Dispose();
        _frame.Dispose();
    }
}

internal static class BenchData
{
    /// <summary>A 250×250 LFW photo from the shared dev data ($EDGEGATE_FACES or shared/faces beside the checkout).</summary>
    public static string Photo
    {
        get
        {
            var faces = Environment.GetEnvironmentVariable("EDGEGATE_FACES");
            if (string.IsNullOrEmpty(faces))
                for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null && faces is null; d = d.Parent)
                    if (File.Exists(Path.Combine(d.FullName, "EdgeGate.sln"))) faces = Path.Combine(d.FullName, "..", "shared", "faces");
            var photo = Path.Combine(faces ?? "shared/faces", "people", "Tony_Blair", "2.jpg");
            return File.Exists(photo) ? photo : throw new FileNotFoundException("benchmark photo missing; set EDGEGATE_FACES", photo);
        }
    }
}
