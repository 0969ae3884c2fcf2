using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Faces;

/// <summary>The five points the alignment uses, in image order: left eye, right eye, nose tip, left and right mouth corner.</summary>
public readonly record struct FivePoints(PointF LeftEye, PointF RightEye, PointF Nose, PointF MouthLeft, PointF MouthRight)
{
    public float EyeDistance => MathF.Sqrt(Sq(RightEye.X - LeftEye.X) + Sq(RightEye.Y - LeftEye.Y));

    public void CopyTo(Span<PointF> dst)
    {
        dst[0] = LeftEye; dst[1] = RightEye; dst[2] = Nose; dst[3] = MouthLeft; dst[4] = MouthRight;
    }

    /// <summary>iBUG-68 → 5: eye centres are the means of 36–41 and 42–47, nose tip 30, mouth corners 48 and 54.</summary>
    public static FivePoints From68(ReadOnlySpan<PointF> p)
    {
        if (p.Length != 68) throw new ArgumentException($"expected 68 landmarks, got {p.Length}");
        return new FivePoints(Mean(p[36..42]), Mean(p[42..48]), p[30], p[48], p[54]);
    }

    private static PointF Mean(ReadOnlySpan<PointF> s)
    {
        float x = 0, y = 0;
        foreach (var q in s) { x += q.X; y += q.Y; }
        return new PointF(x / s.Length, y / s.Length);
    }

    private static float Sq(float v) => v * v;
}

/// <summary>
/// fr_landmark.onnx: a 64×64 grey crop of the square (side = box height) around the detector's box, pixels/256;
/// output 136 values = 68 (x,y) pairs normalised to that square.
/// </summary>
public sealed class LandmarkDetector : IDisposable
{
    public const int InputSize = 64, PointCount = 68;
    private readonly IInferenceModel _model;
    private readonly byte[] _crop = new byte[InputSize * InputSize * 3];

    public LandmarkDetector(IInferenceModel model) => _model = model;

    public PointF[] Detect(BgrFrame frame, in FaceBox box)
    {
        var points = new PointF[PointCount];
        Detect(frame, box, points);
        return points;
    }

    /// <summary>As <see cref="Detect(BgrFrame, in FaceBox)"/>, into <paramref name="points"/> (68 entries).</summary>
    public void Detect(BgrFrame frame, in FaceBox box, Span<PointF> points)
    {
        if (points.Length != PointCount) throw new ArgumentException($"expected room for {PointCount} points", nameof(points));
        var side = box.Height;
        var c = box.Center;
        var x0 = c.X - side / 2; var y0 = c.Y - side / 2;
        ImageSampler.Warp(frame, ImageSampler.RectToGrid(x0, y0, side, side, InputSize, InputSize), InputSize, InputSize, _crop);
        TensorWriter.Gray(_crop, InputSize * InputSize, _model.Input(), 1f / 256f);
        _model.Run();
        ToImage(_model.Output(), x0, y0, side, points);
    }

    internal static PointF[] ToImage(ReadOnlySpan<float> normalised, float x0, float y0, float side)
    {
        var points = new PointF[PointCount];
        ToImage(normalised, x0, y0, side, points);
        return points;
    }

    private static void ToImage(ReadOnlySpan<float> normalised, float x0, float y0, float side, Span<PointF> points)
    {
        for (var i = 0; i < PointCount; i++)
            points[i] = new PointF(x0 + normalised[2 * i] * side, y0 + normalised[2 * i + 1] * side);
    }

    public void Dispose() => _model.Dispose();
}
