using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
        if (Vector128.IsHardwareAccelerated && src.HasTailByte && width >= Lanes) WarpVector(src, dstToSrc, width, height, dst);
        else WarpScalar(src, dstToSrc, width, height, dst);
    }

    /// <summary>The per-pixel reference the vector form must match byte for byte.</summary>
    internal static void WarpScalar(BgrFrame src, in Affine dstToSrc, int width, int height, Span<byte> dst)
    {
        var k = Supersample(dstToSrc);
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

    private const int Lanes = 4;

    private static int Supersample(in Affine dstToSrc) => (int)Math.Clamp(Math.Ceiling(dstToSrc.Scale - 0.01), 1, MaxSupersample);

    /// <summary>
    /// Four destination pixels per step. Each lane runs exactly the scalar arithmetic (same operations in the same order,
    /// no fused multiply-add), so the bytes are identical; the gain is one 4-byte read per corner instead of three and
    /// no per-tap bounds checks. The last quarter-row that does not fill four lanes goes through the scalar loop.
    /// </summary>
    private static void WarpVector(BgrFrame src, in Affine dstToSrc, int width, int height, Span<byte> dst)
    {
        var k = Supersample(dstToSrc);
        int w = src.Width, h = src.Height, stride = src.Stride;
        ref var p = ref src.Origin;
        var inv = 1f / (k * k);
        float a = (float)dstToSrc.A, b = (float)dstToSrc.B, c = (float)dstToSrc.C;
        float d = (float)dstToSrc.D, e = (float)dstToSrc.E, f = (float)dstToSrc.F;
        Span<float> offsets = stackalloc float[MaxSupersample];
        for (var t = 0; t < k; t++) offsets[t] = (t + 0.5f) / k;
        var lane = Vector128.Create(0f, 1f, 2f, 3f);
        var maxU = Vector128.Create((float)(w - 1));
        var maxV = Vector128.Create((float)(h - 1));
        var lastX = Vector128.Create(w - 1);
        var lastY = Vector128.Create(h - 1);
        var one = Vector128.Create(1f);
        var byteMask = Vector128.Create(0xFFu);
        var va = Vector128.Create(a); var vc = Vector128.Create(c);
        var vd = Vector128.Create(d); var vf = Vector128.Create(f);
        var vStride = Vector128.Create(stride);
        var three = Vector128.Create(3);
        var vInv = Vector128.Create(inv);
        var half = Vector128.Create(0.5f);
        Span<int> results = stackalloc int[3 * Lanes];
        ref var o = ref MemoryMarshal.GetReference(dst);
        for (var y = 0; y < height; y++)
        {
            var x = 0;
            for (; x + Lanes <= width; x += Lanes)
            {
                var xs = Vector128.Create((float)x) + lane;
                Vector128<float> s0 = default, s1 = default, s2 = default;
                for (var j = 0; j < k; j++)
                {
                    var sy = y + offsets[j] - 0.5f;
                    var bsy = Vector128.Create(b * sy);
                    var esy = Vector128.Create(e * sy);
                    for (var i = 0; i < k; i++)
                    {
                        var sx = xs + Vector128.Create(offsets[i]) - half;
                        var u = Vector128.Min(Vector128.Max(va * sx + bsy + vc, Vector128<float>.Zero), maxU);
                        var v = Vector128.Min(Vector128.Max(vd * sx + esy + vf, Vector128<float>.Zero), maxV);
                        var x0 = Vector128.ConvertToInt32(u);
                        var y0 = Vector128.ConvertToInt32(v);
                        var x1 = Vector128.Min(x0 + Vector128<int>.One, lastX);
                        var y1 = Vector128.Min(y0 + Vector128<int>.One, lastY);
                        var fx = u - Vector128.ConvertToSingle(x0);
                        var fy = v - Vector128.ConvertToSingle(y0);
                        var w00 = (one - fx) * (one - fy);
                        var w01 = fx * (one - fy);
                        var w10 = (one - fx) * fy;
                        var w11 = fx * fy;
                        var r0 = y0 * vStride; var r1 = y1 * vStride;
                        var c0 = x0 * three; var c1 = x1 * three;
                        var p00 = Gather(ref p, r0 + c0);
                        var p01 = Gather(ref p, r0 + c1);
                        var p10 = Gather(ref p, r1 + c0);
                        var p11 = Gather(ref p, r1 + c1);
                        s0 += w00 * Channel(p00, 0, byteMask) + w01 * Channel(p01, 0, byteMask) + w10 * Channel(p10, 0, byteMask) + w11 * Channel(p11, 0, byteMask);
                        s1 += w00 * Channel(p00, 8, byteMask) + w01 * Channel(p01, 8, byteMask) + w10 * Channel(p10, 8, byteMask) + w11 * Channel(p11, 8, byteMask);
                        s2 += w00 * Channel(p00, 16, byteMask) + w01 * Channel(p01, 16, byteMask) + w10 * Channel(p10, 16, byteMask) + w11 * Channel(p11, 16, byteMask);
                    }
                }
                Vector128.ConvertToInt32(s0 * vInv + half).CopyTo(results);
                Vector128.ConvertToInt32(s1 * vInv + half).CopyTo(results[Lanes..]);
                Vector128.ConvertToInt32(s2 * vInv + half).CopyTo(results[(2 * Lanes)..]);
                var at = (y * width + x) * 3;
                for (var l = 0; l < Lanes; l++)
                {
                    Unsafe.Add(ref o, at + 3 * l) = (byte)results[l];
                    Unsafe.Add(ref o, at + 3 * l + 1) = (byte)results[Lanes + l];
                    Unsafe.Add(ref o, at + 3 * l + 2) = (byte)results[2 * Lanes + l];
                }
            }
            if (x < width) WarpPixels(src, dstToSrc, k, y, x, width, dst);
        }
    }

    /// <summary>The 4-byte words at four byte offsets (B, G, R and the next byte of each pixel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Gather(ref byte p, Vector128<int> offsets) => Vector128.Create(
        Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, offsets.GetElement(0))),
        Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, offsets.GetElement(1))),
        Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, offsets.GetElement(2))),
        Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, offsets.GetElement(3))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Channel(Vector128<uint> words, int shift, Vector128<uint> mask) =>
        Vector128.ConvertToSingle(((words >>> shift) & mask).AsInt32());

    /// <summary>The scalar loop for destination pixels [<paramref name="from"/>, <paramref name="to"/>) of row <paramref name="y"/>.</summary>
    private static void WarpPixels(BgrFrame src, in Affine dstToSrc, int k, int y, int from, int width, Span<byte> dst)
    {
        var pixels = src.Pixels;
        int w = src.Width, h = src.Height, stride = src.Stride;
        var inv = 1f / (k * k);
        float a = (float)dstToSrc.A, b = (float)dstToSrc.B, c = (float)dstToSrc.C;
        float d = (float)dstToSrc.D, e = (float)dstToSrc.E, f = (float)dstToSrc.F;
        for (var x = from; x < width; x++)
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
            var at = (y * width + x) * 3;
            dst[at] = (byte)(s0 * inv + 0.5f);
            dst[at + 1] = (byte)(s1 * inv + 0.5f);
            dst[at + 2] = (byte)(s2 * inv + 0.5f);
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
