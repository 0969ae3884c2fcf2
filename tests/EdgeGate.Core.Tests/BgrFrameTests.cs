using EdgeGate.Core.Frames;

namespace EdgeGate.Core.Tests;

public class BgrFrameTests
{
    [Fact]
    public void FromPacked_StripsRowPadding()
    {
        // 5×3 BGR: 15 bytes a row, padded to a 16-byte stride; the last row needs no padding.
        const int w = 5, h = 3, stride = 16;
        var src = new byte[stride * (h - 1) + w * 3];
        Array.Fill(src, (byte)0xEE);
        for (var y = 0; y < h; y++)
            for (var i = 0; i < w * 3; i++)
                src[y * stride + i] = (byte)(y * 50 + i);
        using var frame = BgrFrame.FromPacked(src, w, h, stride);
        Assert.Equal(w * 3, frame.Stride);
        Assert.DoesNotContain((byte)0xEE, frame.Pixels.ToArray());
        for (var y = 0; y < h; y++)
            Assert.Equal(Enumerable.Range(0, w * 3).Select(i => (byte)(y * 50 + i)), frame.Row(y).ToArray());
    }

    [Fact]
    public void FromPacked_WithTightStride_CopiesAsIs()
    {
        var src = Enumerable.Range(0, 2 * 2 * 3).Select(i => (byte)(i + 1)).ToArray();
        using var frame = BgrFrame.FromPacked(src, 2, 2, 6);
        Assert.Equal(src, frame.Pixels.ToArray());
    }

    [Fact]
    public void FromPacked_RejectsShortStrideOrBuffer()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BgrFrame.FromPacked(new byte[100], 5, 3, 14));
        Assert.Throws<ArgumentException>(() => BgrFrame.FromPacked(new byte[16 * 2 + 14], 5, 3, 16));
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(10, 0)]
    [InlineData(-1, 10)]
    public void Ctor_RejectsNonPositiveSizes(int w, int h)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BgrFrame(w, h));
    }

    [Fact]
    public void Sizes_FollowWidthAndHeight()
    {
        using var frame = new BgrFrame(7, 3);
        Assert.Equal(21, frame.Stride);
        Assert.Equal(63, frame.ByteLength);
        Assert.Equal(63, frame.Pixels.Length);
        Assert.Equal(21, frame.Row(2).Length);
    }

    [Fact]
    public void Dispose_Twice_IsSafe_AndPixelsThenThrow()
    {
        var frame = new BgrFrame(4, 4);
        frame.Dispose();
        frame.Dispose();
        Assert.Throws<ObjectDisposedException>(() => frame.Pixels.Length);
    }
}
