using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeGate.Core.Gallery;

/// <summary>
/// Symmetric int8 quantisation of unit vectors with one scale per vector (max |x| / 127), and the integer dot
/// product the matcher's coarse pass runs on. A quarter of the float bytes: at 100k templates a search reads 51 MB
/// instead of 205 MB, which is what bounds a 1:N search on a board with one memory channel.
/// </summary>
public static class Int8Rows
{
    /// <summary>Quantises <paramref name="v"/> into <paramref name="q"/>; returns the scale and the L2 norm of the rounding error.</summary>
    public static (float Scale, float Error) Quantize(ReadOnlySpan<float> v, Span<sbyte> q)
    {
        if (q.Length != v.Length) throw new ArgumentException("quantised row must have the vector's length", nameof(q));
        // MaxMagnitude returns the element itself, which may be negative.
        var max = MathF.Abs(TensorPrimitives.MaxMagnitude(v));
        var scale = max > 0 ? max / 127f : 1f;
        var inv = 1f / scale;
        double err = 0;
        for (var i = 0; i < v.Length; i++)
        {
            var r = Math.Clamp(MathF.Round(v[i] * inv), -127f, 127f);
            q[i] = (sbyte)r;
            var d = v[i] - r * scale;
            err += d * d;
        }
        return (scale, (float)Math.Sqrt(err));
    }

    /// <summary>Σ v[i]: with it, the unsigned-by-signed instruction (VNNI) gives the signed dot product.</summary>
    public static int Sum(ReadOnlySpan<sbyte> v)
    {
        var s = 0;
        foreach (var x in v) s += x;
        return s;
    }

    /// <summary>
    /// <paramref name="results"/>[r] = Σ probe·row r, exactly, for the <paramref name="results"/>.Length rows packed in
    /// <paramref name="rows"/>. On CPUs with AVX-VNNI one instruction multiplies 32 byte pairs and adds them in fours into
    /// 32-bit lanes, but it takes one unsigned operand: the probe is shifted by +128 and the row's sum times 128 taken off
    /// again (Σ(p+128)·x = Σp·x + 128·Σx), which is exact in 32-bit integers.
    /// </summary>
    public static void DotRows(ReadOnlySpan<sbyte> probe, ReadOnlySpan<sbyte> rows, ReadOnlySpan<int> rowSums, Span<int> results)
    {
        var dim = probe.Length;
        var count = results.Length;
        if (rows.Length < count * dim || rowSums.Length < count) throw new ArgumentException("fewer rows than results");
        if (AvxVnni.IsSupported && dim % 64 == 0 && dim <= 4096)
        {
            Span<byte> shifted = stackalloc byte[dim];
            for (var i = 0; i < dim; i++) shifted[i] = (byte)(probe[i] + 128);
            ref var pp = ref MemoryMarshal.GetReference(shifted);
            ref var rr = ref MemoryMarshal.GetReference(rows);
            for (var r = 0; r < count; r++)
            {
                ref var row = ref Unsafe.Add(ref rr, r * dim);
                var acc0 = Vector256<int>.Zero;
                var acc1 = Vector256<int>.Zero;
                for (var i = 0; i < dim; i += 64)
                {
                    acc0 = AvxVnni.MultiplyWideningAndAdd(acc0, Vector256.LoadUnsafe(ref pp, (nuint)i), Vector256.LoadUnsafe(ref row, (nuint)i));
                    acc1 = AvxVnni.MultiplyWideningAndAdd(acc1, Vector256.LoadUnsafe(ref pp, (nuint)(i + 32)), Vector256.LoadUnsafe(ref row, (nuint)(i + 32)));
                }
                results[r] = Vector256.Sum(acc0 + acc1) - 128 * rowSums[r];
            }
            return;
        }
        for (var r = 0; r < count; r++) results[r] = Dot(probe, rows.Slice(r * dim, dim));
    }

    /// <summary>Σ a[i]·b[i] exactly, in 32-bit integers (|a|,|b| ≤ 127 so no overflow below 133k elements).</summary>
    public static int Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("lengths differ");
        ref var pa = ref MemoryMarshal.GetReference(a);
        ref var pb = ref MemoryMarshal.GetReference(b);
        var n = a.Length;
        var i = 0;
        var sum = 0;
        if (Avx2.IsSupported && n >= 32)
        {
            // Sign-extend 16 bytes to 16 shorts, then pmaddwd: pairs of products summed into 8 ints. Two accumulators
            // hide the multiply latency.
            var acc0 = Vector256<int>.Zero;
            var acc1 = Vector256<int>.Zero;
            for (; i <= n - 32; i += 32)
            {
                var a0 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pa, (nuint)i));
                var b0 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pb, (nuint)i));
                var a1 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pa, (nuint)(i + 16)));
                var b1 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pb, (nuint)(i + 16)));
                acc0 = Avx2.Add(acc0, Avx2.MultiplyAddAdjacent(a0, b0));
                acc1 = Avx2.Add(acc1, Avx2.MultiplyAddAdjacent(a1, b1));
            }
            sum = Vector256.Sum(Avx2.Add(acc0, acc1));
        }
        else if (Vector128.IsHardwareAccelerated && n >= 16)
        {
            // Portable path (ARM NEON): widen to 16-bit, multiply (fits: 127² < 2¹⁵), widen the products to 32-bit.
            var acc0 = Vector128<int>.Zero;
            var acc1 = Vector128<int>.Zero;
            for (; i <= n - 16; i += 16)
            {
                var (al, ah) = Vector128.Widen(Vector128.LoadUnsafe(ref pa, (nuint)i));
                var (bl, bh) = Vector128.Widen(Vector128.LoadUnsafe(ref pb, (nuint)i));
                var (p0, p1) = Vector128.Widen(al * bl);
                var (p2, p3) = Vector128.Widen(ah * bh);
                acc0 += p0 + p2;
                acc1 += p1 + p3;
            }
            sum = Vector128.Sum(acc0 + acc1);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref pa, i) * Unsafe.Add(ref pb, i);
        return sum;
    }
}
