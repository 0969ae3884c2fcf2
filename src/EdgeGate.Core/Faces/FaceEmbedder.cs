using System.Numerics.Tensors;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Faces;

/// <summary>
/// fr_feature.onnx, a MobileFaceNet-style embedder: aligned 112×112 face, B,G,R planes of (v−127.5)/127.5 →
/// 512 floats. The model was trained on B,G,R (feeding R,G,B as the package's JS does costs accuracy). The
/// embedding of the face and of its mirror image are summed (test-time flip) and L2-normalised, so cosine
/// similarity is a plain dot product.
/// </summary>
public sealed class FaceEmbedder : IDisposable
{
    public const int Dimension = 512;
    private readonly IInferenceModel _model;

    /// <param name="modelId">names the model and recipe; stored with every template so vectors of different models are never compared.</param>
    public FaceEmbedder(IInferenceModel model, string modelId, bool flipAugment = true)
    {
        _model = model;
        ModelId = modelId;
        FlipAugment = flipAugment;
    }

    public string ModelId { get; }
    public bool FlipAugment { get; }

    /// <summary>Embeds a 112×112 aligned BGR face into <paramref name="embedding"/> (unit length).</summary>
    public void Embed(ReadOnlySpan<byte> alignedBgr, Span<float> embedding)
    {
        const int n = FaceAligner.Size * FaceAligner.Size;
        if (alignedBgr.Length < n * 3) throw new ArgumentException("aligned face must be 112x112 BGR", nameof(alignedBgr));
        if (embedding.Length != Dimension) throw new ArgumentException($"embedding must have {Dimension} elements", nameof(embedding));
        TensorWriter.Planar(alignedBgr, n, _model.Input(), rgb: false, mean: 127.5f, scale: 1f / 127.5f);
        _model.Run();
        _model.Output().CopyTo(embedding);
        if (FlipAugment)
        {
            TensorWriter.Planar(alignedBgr, n, _model.Input(), rgb: false, mean: 127.5f, scale: 1f / 127.5f, mirror: true, width: FaceAligner.Size);
            _model.Run();
            TensorPrimitives.Add(embedding, _model.Output(), embedding);
        }
        Embeddings.Normalize(embedding);
    }

    /// <summary>
    /// One pass of the aligned face through the model: raw output, no mirror, not normalised. The model's own cost
    /// per inference, which is what <c>edgegate bench</c> reports as <c>embed_ms</c> (a decision pays it twice).
    /// </summary>
    public void RunOnce(ReadOnlySpan<byte> alignedBgr, Span<float> raw)
    {
        const int n = FaceAligner.Size * FaceAligner.Size;
        if (alignedBgr.Length < n * 3) throw new ArgumentException("aligned face must be 112x112 BGR", nameof(alignedBgr));
        TensorWriter.Planar(alignedBgr, n, _model.Input(), rgb: false, mean: 127.5f, scale: 1f / 127.5f);
        _model.Run();
        _model.Output().CopyTo(raw);
    }

    public float[] Embed(ReadOnlySpan<byte> alignedBgr)
    {
        var e = new float[Dimension];
        Embed(alignedBgr, e);
        return e;
    }

    public void Dispose() => _model.Dispose();
}

public static class Embeddings
{
    /// <summary>Scales to unit length. A zero or non-finite vector is an engine fault, not a face: it throws.</summary>
    public static void Normalize(Span<float> v)
    {
        var norm = TensorPrimitives.Norm(v);
        if (!float.IsFinite(norm) || norm < 1e-6f) throw new InvalidOperationException($"embedding has norm {norm}");
        TensorPrimitives.Divide(v, norm, v);
    }

    /// <summary>Cosine similarity of two unit vectors (their dot product), in [−1, 1].</summary>
    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"embedding sizes differ: {a.Length} vs {b.Length}");
        return TensorPrimitives.Dot(a, b);
    }
}
