using EdgeGate.Core.Faces;

namespace EdgeGate.Core.Frames;

/// <summary>
/// Resampling of <see cref="BgrFrame"/>s. Coordinates put pixel centres on integers (OpenCV's convention, which
/// the models' alignment templates use). Reads outside the frame replicate the nearest edge pixel: this is the
/// "replicate padding" that lets the detector find faces cropped tight to the image border without a padded copy.
/// </summary>
public static class ImageSampler
{
    /// <summary>Largest supersampling factor per axis (k² bilinear taps per output pixel).</summary>
    public const int MaxSupersample = 8;

    /// <summary>
    /// Fills <paramref name="dst"/> (packed BGR, <paramref name="width"/>×<paramref name="height"/>) by mapping each
    /// destination pixel through <paramref name="dstToSrc"/>. When the map shrinks the image, each output pixel
    /// averages a k×k grid of bilinear taps over its footprint (anti-aliasing), which the embedder needs: without
    /// it high-resolution photos alias and match worse than low-resolution ones.
    /// </summary>
    public static void Warp(BgrFrame src, in Affine dstToSrc, int width, int height, Span<byte> dst)
    {
        if (dst.Length < width * height * 3) throw new ArgumentException("destination too small", nameof(dst));
        var k = (int)Math.Clamp(Math.Ceiling(dstToSrc.Scale - 0.01), 1, MaxSupersample);
        var pixels = src.Pixels;
        int w = src.Width, h = src.Height, stride = src.Stride;
        var inv = 1f / (k * k);
        float a = (float)dstToSrc.A, b = (float)dstToSrc.B, c = (float)dstToSrc.C;
        float d = (float)dstToSrc.D, e = (float)dstToSrc.E, f = (float)dstToSrc.F;
        var o = 0;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                float s0 = 0, s1 = 0, s2 = 0;
                for (var j = 0; j < k; j++)
                {
                    var sy = y + (j + 0.5f) / k - 0.5f;
                    for (var i = 0; i < k; i++)
                    {
                        var sx = x + (i + 0.5f) / k - 0.5f;
                        var u = a * sx + b * sy + c;
                        var v = d * sx + e * sy + f;
                        Bilinear(pixels, w, h, stride, u, v, ref s0, ref s1, ref s2);
                    }
                }
                dst[o++] = (byte)(s0 * inv + 0.5f);
                dst[o++] = (byte)(s1 * inv + 0.5f);
                dst[o++] = (byte)(s2 * inv + 0.5f);
            }
        }
    }

    /// <summary>
    /// Maps the rectangle (<paramref name="x"/>, <paramref name="y"/>, <paramref name="w"/>, <paramref name="h"/>)
    /// of the source (which may extend past its edges) onto a <paramref name="outW"/>×<paramref name="outH"/> grid.
    /// </summary>
    public static Affine RectToGrid(double x, double y, double w, double h, int outW, int outH)
    {
        var sx = w / outW; var sy = h / outH;
        return new Affine(sx, 0, x + 0.5 * sx - 0.5, 0, sy, y + 0.5 * sy - 0.5);
    }

    private static void Bilinear(Span<byte> p, int w, int h, int stride, float u, float v, ref float s0, ref float s1, ref float s2)
    {
        u = Math.Clamp(u, 0, w - 1);
        v = Math.Clamp(v, 0, h - 1);
        var x0 = (int)u; var y0 = (int)v;
        var x1 = Math.Min(x0 + 1, w - 1); var y1 = Math.Min(y0 + 1, h - 1);
        float fx = u - x0, fy = v - y0;
        float w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        int r0 = y0 * stride, r1 = y1 * stride, c0 = x0 * 3, c1 = x1 * 3;
        s0 += w00 * p[r0 + c0] + w01 * p[r0 + c1] + w10 * p[r1 + c0] + w11 * p[r1 + c1];
        s1 += w00 * p[r0 + c0 + 1] + w01 * p[r0 + c1 + 1] + w10 * p[r1 + c0 + 1] + w11 * p[r1 + c1 + 1];
        s2 += w00 * p[r0 + c0 + 2] + w01 * p[r0 + c1 + 2] + w10 * p[r1 + c0 + 2] + w11 * p[r1 + c1 + 2];
    }
}
