using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;

namespace EdgeGate.Core.Tests;

/// <summary>The vectorised tensor writers give exactly (bit for bit) what the per-pixel loop gives.</summary>
public class TensorWriterTests
{
    [Theory]
    [InlineData(1, 0, false)]
    [InlineData(17, 0, true)]
    [InlineData(112 * 112, 0, false)]
    [InlineData(320 * 240, 0, false)]
    [InlineData(112 * 112, 112, false)]
    [InlineData(112 * 112, 112, true)]
    [InlineData(20 * 7, 20, false)]
    [InlineData(3 * 5, 3, false)]
    [InlineData(16 * 2, 16, true)]
    public void Planar_IsBitIdenticalToTheScalarLoop(int pixels, int mirrorWidth, bool rgb)
    {
        var bgr = new byte[pixels * 3];
        new Random(pixels + mirrorWidth).NextBytes(bgr);
        foreach (var (mean, scale) in new[] { (127.5f, 1f / 127.5f), (127f, 1f / 128f), (0f, 1f) })
        {
            var got = new float[pixels * 3];
            TensorWriter.Planar(bgr, pixels, got, rgb, mean, scale, mirror: mirrorWidth > 0, width: mirrorWidth);
            var want = new float[pixels * 3];
            var w = want.AsSpan();
            var c0 = rgb ? w.Slice(2 * pixels, pixels) : w[..pixels];
            var c2 = rgb ? w[..pixels] : w.Slice(2 * pixels, pixels);
            TensorWriter.PlanarScalar(bgr, 0, pixels, c0, w.Slice(pixels, pixels), c2, mean, scale, mirrorWidth);
            for (var i = 0; i < want.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]), $"element {i}: {got[i]} != {want[i]}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(64 * 64)]
    [InlineData(64 * 64 + 5)]
    public void Gray_IsBitIdenticalToTheScalarFormula(int pixels)
    {
        var bgr = new byte[pixels * 3];
        new Random(pixels).NextBytes(bgr);
        var got = new float[pixels];
        TensorWriter.Gray(bgr, pixels, got, 1f / 256f);
        for (var i = 0; i < pixels; i++)
        {
            var s = i * 3;
            var want = (0.114f * bgr[s] + 0.587f * bgr[s + 1] + 0.299f * bgr[s + 2]) * (1f / 256f);
            Assert.Equal(BitConverter.SingleToInt32Bits(want), BitConverter.SingleToInt32Bits(got[i]));
        }
    }
}

/// <summary>The vectorised warp writes exactly the bytes of the per-pixel reference.</summary>
public class WarpKernelTests
{
    public static TheoryData<int, double, double, double, int, int> Maps() => new()
    {
        // frame side, scale (source px per output px), rotation (deg), shift (px), output width, height
        { 360, 1.4625, 0, -54, 320, 240 },     // the detector's padded resize of a GRID frame
        { 1280, 5.2, 0, -192, 320, 240 },      // of a 1280x720 camera frame: 6x6 taps
        { 250, 0.6, 12, 30, 112, 112 },        // alignment, enlarging a small face
        { 250, 2.3, -25, 10, 112, 112 },       // alignment, shrinking a large turned face
        { 300, 1.0, 90, 400, 64, 64 },         // far outside the frame: edge replication only
        { 97, 3.3, 7, -20, 37, 19 },           // width not a multiple of the lanes
    };

    [Theory]
    [MemberData(nameof(Maps))]
    public void Warp_IsByteIdenticalToTheScalarReference(int side, double scale, double degrees, double shift, int width, int height)
    {
        using var frame = Fakes.TestFrames.Random(side, side * 9 / 16 + 1, side);
        var r = degrees * Math.PI / 180;
        var map = new Affine(scale * Math.Cos(r), -scale * Math.Sin(r), shift, scale * Math.Sin(r), scale * Math.Cos(r), shift / 2);
        var got = new byte[width * height * 3];
        var want = new byte[width * height * 3];
        ImageSampler.Warp(frame, map, width, height, got);
        ImageSampler.WarpScalar(frame, map, width, height, want);
        Assert.Equal(want, got);
    }
}
