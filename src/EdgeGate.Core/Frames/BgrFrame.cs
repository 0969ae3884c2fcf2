using System.Buffers;

namespace EdgeGate.Core.Frames;

/// <summary>
/// A packed 8-bit B,G,R image with rows of exactly <c>Width * 3</c> bytes (decoders strip any row padding).
/// Ownership: the pixel buffer is rented from <see cref="ArrayPool{T}.Shared"/> and returned by
/// <see cref="Dispose"/>; the frame's owner must dispose it exactly once and must not keep spans past that.
/// </summary>
public sealed class BgrFrame : IDisposable
{
    private byte[]? _pixels;

    public BgrFrame(int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"frame size must be positive, got {width}x{height}");
        Width = width;
        Height = height;
        _pixels = ArrayPool<byte>.Shared.Rent(checked(width * height * 3));
    }

    public int Width { get; }
    public int Height { get; }
    public int Stride => Width * 3;
    public int ByteLength => Width * Height * 3;

    public Span<byte> Pixels => (_pixels ?? throw new ObjectDisposedException(nameof(BgrFrame))).AsSpan(0, ByteLength);

    public Span<byte> Row(int y) => Pixels.Slice(y * Stride, Stride);

    /// <summary>
    /// True when the pooled buffer extends past the last pixel, so a kernel may read a whole 4-byte word at any pixel
    /// (B, G, R and one byte it ignores). Rented buffers have power-of-two sizes and w·h·3 never is one, so in practice always.
    /// </summary>
    internal bool HasTailByte => (_pixels ?? throw new ObjectDisposedException(nameof(BgrFrame))).Length > ByteLength;

    /// <summary>The first pixel byte, for kernels that read past <see cref="ByteLength"/> only when <see cref="HasTailByte"/>.</summary>
    internal ref byte Origin => ref (_pixels ?? throw new ObjectDisposedException(nameof(BgrFrame)))[0];

    /// <summary>Copies a packed BGR source whose rows may be padded (e.g. GStreamer's 4-byte row alignment).</summary>
    public static BgrFrame FromPacked(ReadOnlySpan<byte> source, int width, int height, int sourceStride)
    {
        if (sourceStride < width * 3)
            throw new ArgumentOutOfRangeException(nameof(sourceStride), $"stride {sourceStride} is less than width*3 = {width * 3}");
        if (source.Length < (long)sourceStride * (height - 1) + width * 3)
            throw new ArgumentException($"buffer of {source.Length} bytes is too small for {width}x{height} with stride {sourceStride}", nameof(source));
        var frame = new BgrFrame(width, height);
        var dst = frame.Pixels;
        var rowBytes = width * 3;
        if (sourceStride == rowBytes)
        {
            source[..dst.Length].CopyTo(dst);
        }
        else
        {
            for (var y = 0; y < height; y++)
                source.Slice(y * sourceStride, rowBytes).CopyTo(dst.Slice(y * rowBytes, rowBytes));
        }
        return frame;
    }

    public void Dispose()
    {
        var p = Interlocked.Exchange(ref _pixels, null);
        if (p is not null) ArrayPool<byte>.Shared.Return(p);
    }
}
