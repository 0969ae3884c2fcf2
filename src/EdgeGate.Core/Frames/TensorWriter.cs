using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeGate.Core.Frames;

/// <summary>
/// Packed BGR bytes → the planar float tensors the models take. Sixteen pixels at a time: one shuffle per source
/// register splits B, G and R (and reverses them for the mirrored face), then each channel is widened to float and
/// normalised. Each output value is the same IEEE operations as the scalar loop, so results are bit-identical to it.
/// </summary>
public static class TensorWriter
{
    private const int Lanes = 16;

    /// <summary>CHW planes of (v − mean)·scale, in B,G,R order or swapped to R,G,B.</summary>
    public static void Planar(ReadOnlySpan<byte> bgr, int pixelCount, Span<float> dst, bool rgb, float mean, float scale, bool mirror = false, int width = 0)
    {
        if (dst.Length < pixelCount * 3) throw new ArgumentException("tensor too small", nameof(dst));
        if (mirror && (width <= 0 || pixelCount % width != 0))
            throw new ArgumentException("mirroring needs the row width", nameof(width));
        if (bgr.Length < pixelCount * 3) throw new ArgumentException("image too small", nameof(bgr));
        var p0 = dst[..pixelCount];
        var p1 = dst.Slice(pixelCount, pixelCount);
        var p2 = dst.Slice(2 * pixelCount, pixelCount);
        // Channel 0 (B) goes to the first plane for BGR, the last for RGB.
        var first = rgb ? p2 : p0;
        var last = rgb ? p0 : p2;
        if (!Vector128.IsHardwareAccelerated)
        {
            PlanarScalar(bgr, 0, pixelCount, first, p1, last, mean, scale, mirror ? width : 0);
            return;
        }
        if (!mirror)
        {
            var done = PlanarVector(bgr, pixelCount, first, p1, last, mean, scale);
            PlanarScalar(bgr, done, pixelCount - done, first, p1, last, mean, scale, 0);
            return;
        }
        for (var row = 0; row < pixelCount; row += width)
        {
            // Output pixel x of the row reads source pixel width−1−x: blocks are taken from the row's end, reversed.
            var x = 0;
            for (; x + Lanes <= width; x += Lanes)
            {
                var src = bgr.Slice((row + width - x - Lanes) * 3, Lanes * 3);
                var (b, g, r) = Split(src, reverse: true);
                Store(b, first.Slice(row + x, Lanes), mean, scale);
                Store(g, p1.Slice(row + x, Lanes), mean, scale);
                Store(r, last.Slice(row + x, Lanes), mean, scale);
            }
            for (; x < width; x++)
            {
                var s = (row + width - 1 - x) * 3;
                first[row + x] = (bgr[s] - mean) * scale;
                p1[row + x] = (bgr[s + 1] - mean) * scale;
                last[row + x] = (bgr[s + 2] - mean) * scale;
            }
        }
    }

    /// <summary>One plane of luma (BT.601 weights) · scale.</summary>
    public static void Gray(ReadOnlySpan<byte> bgr, int pixelCount, Span<float> dst, float scale)
    {
        if (dst.Length < pixelCount || bgr.Length < pixelCount * 3) throw new ArgumentException("buffers too small");
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            var wb = Vector128.Create(0.114f); var wg = Vector128.Create(0.587f); var wr = Vector128.Create(0.299f);
            var k = Vector128.Create(scale);
            for (; i + Lanes <= pixelCount; i += Lanes)
            {
                var (b, g, r) = Split(bgr.Slice(i * 3, Lanes * 3), reverse: false);
                var (b0, b1, b2, b3) = ToFloat(b);
                var (g0, g1, g2, g3) = ToFloat(g);
                var (r0, r1, r2, r3) = ToFloat(r);
                ref var d = ref MemoryMarshal.GetReference(dst.Slice(i, Lanes));
                ((wb * b0 + wg * g0 + wr * r0) * k).StoreUnsafe(ref d);
                ((wb * b1 + wg * g1 + wr * r1) * k).StoreUnsafe(ref d, 4);
                ((wb * b2 + wg * g2 + wr * r2) * k).StoreUnsafe(ref d, 8);
                ((wb * b3 + wg * g3 + wr * r3) * k).StoreUnsafe(ref d, 12);
            }
        }
        for (; i < pixelCount; i++)
        {
            var s = i * 3;
            dst[i] = (0.114f * bgr[s] + 0.587f * bgr[s + 1] + 0.299f * bgr[s + 2]) * scale;
        }
    }

    /// <summary>The scalar reference: pixels [start, start+count), mirrored within rows of <paramref name="mirrorWidth"/> when &gt; 0.</summary>
    internal static void PlanarScalar(ReadOnlySpan<byte> bgr, int start, int count, Span<float> c0, Span<float> c1, Span<float> c2,
        float mean, float scale, int mirrorWidth)
    {
        for (var i = start; i < start + count; i++)
        {
            var s = mirrorWidth > 0 ? MirrorIndex(i, mirrorWidth) * 3 : i * 3;
            c0[i] = (bgr[s] - mean) * scale;
            c1[i] = (bgr[s + 1] - mean) * scale;
            c2[i] = (bgr[s + 2] - mean) * scale;
        }
    }

    private static int PlanarVector(ReadOnlySpan<byte> bgr, int pixelCount, Span<float> c0, Span<float> c1, Span<float> c2, float mean, float scale)
    {
        var i = 0;
        for (; i + Lanes <= pixelCount; i += Lanes)
        {
            var (b, g, r) = Split(bgr.Slice(i * 3, Lanes * 3), reverse: false);
            Store(b, c0.Slice(i, Lanes), mean, scale);
            Store(g, c1.Slice(i, Lanes), mean, scale);
            Store(r, c2.Slice(i, Lanes), mean, scale);
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<byte> channel, Span<float> dst, float mean, float scale)
    {
        var m = Vector128.Create(mean);
        var k = Vector128.Create(scale);
        var (f0, f1, f2, f3) = ToFloat(channel);
        ref var d = ref MemoryMarshal.GetReference(dst);
        ((f0 - m) * k).StoreUnsafe(ref d);
        ((f1 - m) * k).StoreUnsafe(ref d, 4);
        ((f2 - m) * k).StoreUnsafe(ref d, 8);
        ((f3 - m) * k).StoreUnsafe(ref d, 12);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float>, Vector128<float>, Vector128<float>, Vector128<float>) ToFloat(Vector128<byte> v)
    {
        var (lo, hi) = Vector128.Widen(v);
        var (a, b) = Vector128.Widen(lo);
        var (c, d) = Vector128.Widen(hi);
        return (Vector128.ConvertToSingle(a.AsInt32()), Vector128.ConvertToSingle(b.AsInt32()),
                Vector128.ConvertToSingle(c.AsInt32()), Vector128.ConvertToSingle(d.AsInt32()));
    }

    /// <summary>16 packed BGR pixels (48 bytes) → their B, G and R bytes, in order or reversed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<byte> B, Vector128<byte> G, Vector128<byte> R) Split(ReadOnlySpan<byte> src, bool reverse)
    {
        ref var s = ref MemoryMarshal.GetReference(src);
        var v0 = Vector128.LoadUnsafe(ref s);
        var v1 = Vector128.LoadUnsafe(ref s, 16);
        var v2 = Vector128.LoadUnsafe(ref s, 32);
        var m = reverse ? Masks.Reversed : Masks.Forward;
        // Indices outside 0..15 select zero, so each channel is the OR of one shuffle per source register.
        return (Vector128.Shuffle(v0, m[0]) | Vector128.Shuffle(v1, m[1]) | Vector128.Shuffle(v2, m[2]),
                Vector128.Shuffle(v0, m[3]) | Vector128.Shuffle(v1, m[4]) | Vector128.Shuffle(v2, m[5]),
                Vector128.Shuffle(v0, m[6]) | Vector128.Shuffle(v1, m[7]) | Vector128.Shuffle(v2, m[8]));
    }

    private static class Masks
    {
        public static readonly Vector128<byte>[] Forward = Build(reverse: false);
        public static readonly Vector128<byte>[] Reversed = Build(reverse: true);

        /// <summary>For channel c and source register r: lane j takes byte 3·p + c − 16·r of register r, p the pixel of lane j.</summary>
        private static Vector128<byte>[] Build(bool reverse)
        {
            var masks = new Vector128<byte>[9];
            Span<byte> lanes = stackalloc byte[Lanes];
            for (var c = 0; c < 3; c++)
            {
                for (var r = 0; r < 3; r++)
                {
                    for (var j = 0; j < Lanes; j++)
                    {
                        var p = reverse ? Lanes - 1 - j : j;
                        var at = 3 * p + c - 16 * r;
                        lanes[j] = at is >= 0 and < 16 ? (byte)at : (byte)0xFF;
                    }
                    masks[3 * c + r] = Vector128.Create((ReadOnlySpan<byte>)lanes);
                }
            }
            return masks;
        }
    }

    private static int MirrorIndex(int i, int width)
    {
        var y = i / width;
        return y * width + (width - 1 - (i - y * width));
    }
}
