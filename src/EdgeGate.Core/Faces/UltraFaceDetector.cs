using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Faces;

public sealed record DetectorOptions
{
    /// <summary>Face probability a box needs (the model's scores are already soft-maxed).</summary>
    public float ScoreThreshold { get; init; } = 0.7f;

    public float NmsIouThreshold { get; init; } = 0.4f;

    /// <summary>Boxes shorter than this many source pixels are ignored.</summary>
    public float MinFaceSize { get; init; } = 24;

    /// <summary>
    /// Replicated border added on every side, as a fraction of the frame's size, before the frame is squeezed to
    /// the detector's 320×240. Tight crops (a face that fills the photo) are otherwise missed: the model never saw
    /// a face touching the image edge. 0.15 per side = ~30 % larger image.
    /// </summary>
    public float PaddingFraction { get; init; } = 0.15f;

    public void Validate()
    {
        if (ScoreThreshold is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(ScoreThreshold), ScoreThreshold, "must be in (0,1)");
        if (NmsIouThreshold is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(NmsIouThreshold), NmsIouThreshold, "must be in (0,1)");
        if (MinFaceSize < 0) throw new ArgumentOutOfRangeException(nameof(MinFaceSize), MinFaceSize, "must be >= 0");
        if (PaddingFraction is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(PaddingFraction), PaddingFraction, "must be in [0,1]");
    }
}

/// <summary>
/// UltraFace RFB-320 (fr_detect.onnx): input [1,3,240,320] B,G,R planes of (v−127)/128 over the whole
/// (padded) frame stretched to 320×240; outputs soft-maxed scores [1,4420,2] and already-decoded corner boxes
/// [1,4420,4] normalised to the input, so no prior-box decoding is needed.
/// </summary>
public sealed class UltraFaceDetector : IDisposable
{
    public const int InputWidth = 320, InputHeight = 240, Anchors = 4420;
    private readonly IInferenceModel _model;
    private readonly DetectorOptions _options;
    private readonly byte[] _resized = new byte[InputWidth * InputHeight * 3];
    private readonly List<FaceBox> _candidates = new(64);

    public UltraFaceDetector(IInferenceModel model, DetectorOptions options)
    {
        options.Validate();
        _model = model;
        _options = options;
    }

    public DetectorOptions Options => _options;

    public List<FaceBox> Detect(BgrFrame frame)
    {
        var result = new List<FaceBox>();
        Detect(frame, result);
        return result;
    }

    /// <summary>As <see cref="Detect(BgrFrame)"/>, into <paramref name="result"/> (cleared first): the per-frame path, which allocates nothing.</summary>
    public void Detect(BgrFrame frame, List<FaceBox> result)
    {
        var padX = frame.Width * _options.PaddingFraction;
        var padY = frame.Height * _options.PaddingFraction;
        double regionW = frame.Width + 2 * padX, regionH = frame.Height + 2 * padY;
        ImageSampler.Warp(frame, ImageSampler.RectToGrid(-padX, -padY, regionW, regionH, InputWidth, InputHeight),
            InputWidth, InputHeight, _resized);
        TensorWriter.Planar(_resized, InputWidth * InputHeight, _model.Input(), rgb: false, mean: 127f, scale: 1f / 128f);
        _model.Run();
        Decode(_model.Output(0), _model.Output(1), -padX, -padY, regionW, regionH, result);
    }

    /// <summary>Threshold, map from the padded input back to frame pixels, NMS, size filter.</summary>
    internal List<FaceBox> Decode(ReadOnlySpan<float> scores, ReadOnlySpan<float> boxes,
        double originX, double originY, double regionW, double regionH)
    {
        var result = new List<FaceBox>();
        Decode(scores, boxes, originX, originY, regionW, regionH, result);
        return result;
    }

    private void Decode(ReadOnlySpan<float> scores, ReadOnlySpan<float> boxes,
        double originX, double originY, double regionW, double regionH, List<FaceBox> kept)
    {
        _candidates.Clear();
        var anchors = scores.Length / 2;
        for (var i = 0; i < anchors; i++)
        {
            var score = scores[2 * i + 1];
            if (score < _options.ScoreThreshold) continue;
            var b = boxes.Slice(4 * i, 4);
            // Size is filtered before NMS: a small high-scoring box inside a real face must not suppress it.
            if ((Math.Clamp(b[3], 0f, 1f) - Math.Clamp(b[1], 0f, 1f)) * regionH < _options.MinFaceSize) continue;
            _candidates.Add(new FaceBox(
                (float)(originX + Math.Clamp(b[0], 0f, 1f) * regionW),
                (float)(originY + Math.Clamp(b[1], 0f, 1f) * regionH),
                (float)(originX + Math.Clamp(b[2], 0f, 1f) * regionW),
                (float)(originY + Math.Clamp(b[3], 0f, 1f) * regionH),
                score));
        }
        NonMaxSuppression.Apply(_candidates, _options.NmsIouThreshold, kept);
        kept.RemoveAll(EmptyBox);
    }

    private static readonly Predicate<FaceBox> EmptyBox = b => b.Width <= 0;

    public void Dispose() => _model.Dispose();
}
