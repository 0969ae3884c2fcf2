using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Liveness;

/// <summary>Scores one face in one frame: the probability that it is a real face (not a print or a screen).</summary>
public interface IPassiveLivenessScorer
{
    float Score(BgrFrame frame, in FaceBox box);
}

/// <summary>
/// fr_liveness.onnx, a MiniFASNet-style 3-class anti-spoofing net. Recipe read from the package's
/// <c>lib/fr_liveness.js</c>: a crop <see cref="CropScale"/> (2.7) times the detector's box around its centre, shrunk
/// so it fits in the frame and shifted back inside it, resized to 128×128; raw pixel values 0..255 (no mean, no
/// scale); planar; softmax over the 3 logits, class 0 = real (as the JS reports). The JS reads an RGBA canvas and
/// copies channels 0,1,2, i.e. R,G,B, but B,G,R is what separates the dev samples (live 0.92 against 0.17 in R,G,B;
/// print and screen ≤ 0.002 either way), and the JS squares the box (side = its height) where the unsquared box
/// scores the live sample 0.92 against 0.58: see README "Liveness".
/// </summary>
public sealed class LivenessModel : IPassiveLivenessScorer, IDisposable
{
    public const int InputSize = 128, Classes = 3;
    public const float CropScale = 2.7f;
    private readonly IInferenceModel _model;
    private readonly byte[] _crop = new byte[InputSize * InputSize * 3];

    public LivenessModel(IInferenceModel model, int realClass = 0, bool rgb = false)
    {
        if (realClass is < 0 or >= Classes) throw new ArgumentOutOfRangeException(nameof(realClass));
        _model = model; RealClass = realClass; Rgb = rgb;
    }

    public int RealClass { get; }
    public bool Rgb { get; }

    /// <summary>P(real) of the face in <paramref name="box"/>.</summary>
    public float Score(BgrFrame frame, in FaceBox box)
    {
        var (x, y, w, h) = CropRect(box, frame.Width, frame.Height);
        ImageSampler.Warp(frame, ImageSampler.RectToGrid(x, y, w, h, InputSize, InputSize), InputSize, InputSize, _crop);
        TensorWriter.Planar(_crop, InputSize * InputSize, _model.Input(), rgb: Rgb, mean: 0f, scale: 1f);
        _model.Run();
        Span<float> p = stackalloc float[Classes];
        Softmax(_model.Output()[..Classes], p);
        return p[RealClass];
    }

    /// <summary>
    /// The JS crop: the square box scaled by min(2.7, (H−1)/h, (W−1)/w) about its centre, then moved (not clipped) back inside the
    /// frame. Returns (x, y, width, height) in pixels.
    /// </summary>
    public static (float X, float Y, float W, float H) CropRect(in FaceBox box, int width, int height)
    {
        // The package's detector hands over square boxes (side = box height, same centre); ours are not squared.
        float bw = MathF.Max(1, box.Width), bh = MathF.Max(1, box.Height);
        var s = MathF.Min(CropScale, MathF.Min((height - 1) / bh, (width - 1) / bw));
        float nw = bw * s, nh = bh * s;
        var c = box.Center;
        float x1 = c.X - nw / 2, y1 = c.Y - nh / 2, x2 = c.X + nw / 2, y2 = c.Y + nh / 2;
        if (x1 < 0) { x2 -= x1; x1 = 0; }
        if (y1 < 0) { y2 -= y1; y1 = 0; }
        if (x2 > width - 1) { x1 -= x2 - width + 1; x2 = width - 1; }
        if (y2 > height - 1) { y1 -= y2 - height + 1; y2 = height - 1; }
        x1 = MathF.Max(0, x1); y1 = MathF.Max(0, y1);
        return (x1, y1, MathF.Max(1, x2 - x1), MathF.Max(1, y2 - y1));
    }

    public static void Softmax(ReadOnlySpan<float> logits, Span<float> p)
    {
        var max = float.MinValue;
        foreach (var v in logits) max = MathF.Max(max, v);
        float sum = 0;
        for (var i = 0; i < logits.Length; i++) { p[i] = MathF.Exp(logits[i] - max); sum += p[i]; }
        for (var i = 0; i < logits.Length; i++) p[i] /= sum;
    }

    public void Dispose() => _model.Dispose();
}
