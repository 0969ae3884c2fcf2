using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Gallery;

namespace EdgeGate.Bench;

/// <summary>
/// The managed kernels of the per-frame path, on synthetic data of the daemon's sizes: the detector's resize of a
/// 360×288 GRID-sized frame (with its 15 % padding) to 320×240, the 5-point warp to 112×112, the BGR → planar float
/// tensors (vector form and the scalar reference), and one template's dot product in float and int8.
/// Run: dotnet run -c Release --project bench/EdgeGate.Bench -- --filter '*Kernel*'
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class KernelBenchmarks
{
    private BgrFrame _frame = null!;
    private readonly byte[] _resized = new byte[UltraFaceDetector.InputWidth * UltraFaceDetector.InputHeight * 3];
    private readonly byte[] _aligned = new byte[FaceAligner.Size * FaceAligner.Size * 3];
    private readonly float[] _detectorTensor = new float[UltraFaceDetector.InputWidth * UltraFaceDetector.InputHeight * 3];
    private readonly float[] _faceTensor = new float[FaceAligner.Size * FaceAligner.Size * 3];
    private readonly float[] _a = new float[FaceEmbedder.Dimension];
    private readonly float[] _b = new float[FaceEmbedder.Dimension];
    private readonly sbyte[] _qa = new sbyte[FaceEmbedder.Dimension];
    private readonly sbyte[] _qb = new sbyte[FaceEmbedder.Dimension];
    private Affine _detectorGrid;
    private Affine _faceToFrame;

    [GlobalSetup]
    public void Setup()
    {
        _frame = new BgrFrame(360, 288);
        new Random(1).NextBytes(_frame.Pixels);
        new Random(2).NextBytes(_aligned);
        var pad = 0.15;
        _detectorGrid = ImageSampler.RectToGrid(-360 * pad, -288 * pad, 360 * (1 + 2 * pad), 288 * (1 + 2 * pad),
            UltraFaceDetector.InputWidth, UltraFaceDetector.InputHeight);
        // A face of ~70 px between the eyes, turned 10°: the inverse similarity maps the 112² template into the frame.
        var five = new FivePoints(new(150, 120), new(218, 132), new(182, 165), new(158, 200), new(210, 208));
        _faceToFrame = FaceAligner.ImageToTemplate(five).Inverse();
        var rng = new Random(3);
        for (var i = 0; i < _a.Length; i++) { _a[i] = (float)rng.NextDouble() - 0.5f; _b[i] = (float)rng.NextDouble() - 0.5f; }
        Embeddings.Normalize(_a);
        Embeddings.Normalize(_b);
        Int8Rows.Quantize(_a, _qa);
        Int8Rows.Quantize(_b, _qb);
    }

    [GlobalCleanup]
    public void Cleanup() => _frame.Dispose();

    [Benchmark(Description = "resize 360x288 (+15% pad) -> 320x240, anti-aliased")]
    public byte DetectorResize()
    {
        ImageSampler.Warp(_frame, _detectorGrid, UltraFaceDetector.InputWidth, UltraFaceDetector.InputHeight, _resized);
        return _resized[0];
    }

    [Benchmark(Description = "resize 360x288 -> 320x240, scalar reference")]
    public byte DetectorResizeScalar()
    {
        ImageSampler.WarpScalar(_frame, _detectorGrid, UltraFaceDetector.InputWidth, UltraFaceDetector.InputHeight, _resized);
        return _resized[0];
    }

    [Benchmark(Description = "affine warp to 112x112, scalar reference")]
    public byte AlignWarpScalar()
    {
        ImageSampler.WarpScalar(_frame, _faceToFrame, FaceAligner.Size, FaceAligner.Size, _aligned);
        return _aligned[0];
    }

    [Benchmark(Description = "affine warp to 112x112 (5-point similarity), bilinear")]
    public byte AlignWarp()
    {
        ImageSampler.Warp(_frame, _faceToFrame, FaceAligner.Size, FaceAligner.Size, _aligned);
        return _aligned[0];
    }

    [Benchmark(Description = "BGR -> planar (v-127)/128, 320x240, vector")]
    public float DetectorTensor()
    {
        TensorWriter.Planar(_resized, UltraFaceDetector.InputWidth * UltraFaceDetector.InputHeight, _detectorTensor, rgb: false, mean: 127f, scale: 1f / 128f);
        return _detectorTensor[0];
    }

    [Benchmark(Description = "BGR -> planar (v-127)/128, 320x240, scalar reference")]
    public float DetectorTensorScalar()
    {
        const int n = UltraFaceDetector.InputWidth * UltraFaceDetector.InputHeight;
        var t = _detectorTensor.AsSpan();
        TensorWriter.PlanarScalar(_resized, 0, n, t[..n], t.Slice(n, n), t.Slice(2 * n, n), 127f, 1f / 128f, 0);
        return _detectorTensor[0];
    }

    [Benchmark(Description = "BGR -> planar mirrored 112x112, vector")]
    public float FaceTensorMirrored()
    {
        TensorWriter.Planar(_aligned, FaceAligner.Size * FaceAligner.Size, _faceTensor, rgb: false, mean: 127.5f, scale: 1f / 127.5f, mirror: true, width: FaceAligner.Size);
        return _faceTensor[0];
    }

    [Benchmark(Description = "dot 512 float (TensorPrimitives)")]
    public float DotFloat() => TensorPrimitives.Dot(_a, _b);

    [Benchmark(Description = "dot 512 int8")]
    public int DotInt8() => Int8Rows.Dot(_qa, _qb);
}

/// <summary>
/// <see cref="GalleryMatcher.Identify"/> on one thread over N random unit templates (3 per person), float scan against the
/// int8 pre-pass with exact re-scoring; the probe sits at cosine ≈ 0.7 to one template (a known face).
/// Run: dotnet run -c Release --project bench/EdgeGate.Bench -- --filter '*GallerySearch*'
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class GallerySearchBenchmarks
{
    private GalleryMatcher _matcher = null!;
    private float[] _probe = null!;

    [Params(1_000, 10_000, 100_000, 1_000_000)]
    public int N { get; set; }

    [Params(SearchPrecision.Float, SearchPrecision.Int8)]
    public SearchPrecision Precision { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(N);
        var templates = new List<FaceTemplate>(N);
        for (var i = 0; i < N; i++) templates.Add(new FaceTemplate(i + 1, $"p{i / 3}", "bench", RandomUnit(rng), 1, DateTimeOffset.UnixEpoch));
        _matcher = new GalleryMatcher("bench", new MatchOptions(), new ScoreCalibration(29.84, -9.97)) { Precision = Precision };
        _matcher.Load(templates);
        _probe = (float[])templates[rng.Next(N)].Embedding.Clone();
        var noise = RandomUnit(rng);
        for (var i = 0; i < _probe.Length; i++) _probe[i] = 0.7f * _probe[i] + 0.71f * noise[i];
        Embeddings.Normalize(_probe);
    }

    [Benchmark(Description = "1:N identify, one thread")]
    public float Identify() => _matcher.Identify(_probe).Best!.Similarity;

    private static float[] RandomUnit(Random rng)
    {
        var v = new float[FaceEmbedder.Dimension];
        for (var i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        Embeddings.Normalize(v);
        return v;
    }
}
