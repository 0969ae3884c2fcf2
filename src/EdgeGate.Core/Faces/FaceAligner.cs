using EdgeGate.Core.Frames;

namespace EdgeGate.Core.Faces;

/// <summary>
/// Warps a face onto the 112×112 ArcFace-style template by the least-squares similarity through its five points.
/// A similarity (not the exact 3-point affine of the model package's JS) keeps the face's proportions: measured on
/// the dev pairs, 100 % best-threshold accuracy against 91.9 % for the JS recipe.
/// </summary>
public static class FaceAligner
{
    public const int Size = 112;

    public static readonly PointF[] Template =
    [
        new(38.2946f, 51.6963f), new(73.5318f, 51.5014f), new(56.0252f, 71.7366f),
        new(41.5493f, 92.3655f), new(70.7299f, 92.2041f),
    ];

    /// <summary>The similarity taking image points onto the template.</summary>
    public static Affine ImageToTemplate(in FivePoints points)
    {
        Span<PointF> src = stackalloc PointF[5];
        points.CopyTo(src);
        return Affine.FitSimilarity(src, Template);
    }

    /// <summary>Writes the aligned face as packed BGR into <paramref name="dst"/> (112·112·3 bytes).</summary>
    public static Affine Align(BgrFrame frame, in FivePoints points, Span<byte> dst)
    {
        var toTemplate = ImageToTemplate(points);
        ImageSampler.Warp(frame, toTemplate.Inverse(), Size, Size, dst);
        return toTemplate;
    }
}
