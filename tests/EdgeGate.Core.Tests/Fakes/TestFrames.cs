using EdgeGate.Core.Frames;

namespace EdgeGate.Core.Tests.Fakes;

/// <summary>Synthetic test frames.</summary>
public static class TestFrames
{
    public static BgrFrame Solid(int width, int height, byte b, byte g, byte r)
    {
        var f = new BgrFrame(width, height);
        var px = f.Pixels;
        for (var i = 0; i < px.Length; i += 3) { px[i] = b; px[i + 1] = g; px[i + 2] = r; }
        return f;
    }

    /// <summary>Each pixel's three channels set by <paramref name="bgr"/>(x, y).</summary>
    public static BgrFrame From(int width, int height, Func<int, int, (byte B, byte G, byte R)> bgr)
    {
        var f = new BgrFrame(width, height);
        var px = f.Pixels;
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var (b, g, r) = bgr(x, y);
                var i = (y * width + x) * 3;
                px[i] = b; px[i + 1] = g; px[i + 2] = r;
            }
        return f;
    }

    public static BgrFrame Random(int width, int height, int seed)
    {
        var f = new BgrFrame(width, height);
        new Random(seed).NextBytes(f.Pixels);
        return f;
    }

    /// <summary>1-pixel checkerboard of 0 and 255 (all three channels).</summary>
    public static BgrFrame Checkerboard(int width, int height) =>
        From(width, height, (x, y) => ((x + y) % 2 == 0) ? ((byte)255, (byte)255, (byte)255) : ((byte)0, (byte)0, (byte)0));

    public static (byte B, byte G, byte R) At(BgrFrame f, int x, int y)
    {
        var i = (y * f.Width + x) * 3;
        var px = f.Pixels;
        return (px[i], px[i + 1], px[i + 2]);
    }

    public static (byte B, byte G, byte R) At(ReadOnlySpan<byte> packed, int width, int x, int y)
    {
        var i = (y * width + x) * 3;
        return (packed[i], packed[i + 1], packed[i + 2]);
    }
}
