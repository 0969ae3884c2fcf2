using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests;

public class ImageSamplerTests
{
    [Fact]
    public void Warp_WithIdentity_ReproducesImage()
    {
        using var frame = TestFrames.Random(37, 23, seed: 1);
        var dst = new byte[37 * 23 * 3];
        ImageSampler.Warp(frame, Affine.Identity, 37, 23, dst);
        Assert.Equal(frame.Pixels.ToArray(), dst);
    }

    [Fact]
    public void RectToGrid_OverWholeImageAtSameSize_IsIdentity()
    {
        var m = ImageSampler.RectToGrid(0, 0, 50, 40, 50, 40);
        Assert.Equal(Affine.Identity, m);
    }

    [Fact]
    public void RectToGrid_PutsPixelCentresOnTheFootprintCentres()
    {
        // Grid 4 px wide over 16 source px: output pixel 0 covers source [−0.5, 3.5), centre 1.5.
        var m = ImageSampler.RectToGrid(0, 0, 16, 16, 4, 4);
        Assert.Equal(new PointF(1.5f, 1.5f), m.Apply(new PointF(0, 0)));
        Assert.Equal(new PointF(13.5f, 5.5f), m.Apply(new PointF(3, 1)));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Warp_DownscalingCheckerboard_AveragesInsteadOfAliasing(int factor)
    {
        using var frame = TestFrames.Checkerboard(64, 64);
        int w = 64 / factor, h = 64 / factor;
        var dst = new byte[w * h * 3];
        ImageSampler.Warp(frame, ImageSampler.RectToGrid(0, 0, 64, 64, w, h), w, h, dst);
        // A point sampler would return 0 or 255; the mean of the footprint is 127.5.
        Assert.All(dst, v => Assert.InRange(v, 120, 135));
    }

    [Fact]
    public void Warp_DownscalingByThree_AveragesTheWholeFootprint()
    {
        // 1-px vertical stripes, white on even x. Output column x covers source columns 3x … 3x+2: two whites
        // (170) when 3x is even, one (85) when odd. A single bilinear tap at the footprint centre 3x+1 would
        // read pure 0 or 255.
        using var frame = TestFrames.From(60, 6, (x, _) => x % 2 == 0 ? ((byte)255, (byte)255, (byte)255) : ((byte)0, (byte)0, (byte)0));
        var dst = new byte[20 * 2 * 3];
        ImageSampler.Warp(frame, ImageSampler.RectToGrid(0, 0, 60, 6, 20, 2), 20, 2, dst);
        for (var x = 0; x < 20; x++)
            Assert.Equal(3 * x % 2 == 0 ? 170 : 85, TestFrames.At(dst, 20, x, 1).G);
    }

    [Fact]
    public void Warp_ReadsOutsideTheFrame_ReplicateTheEdgePixel()
    {
        using var frame = TestFrames.Random(10, 8, seed: 2);
        // A 3-pixel border on every side: destination (x, y) reads source (x − 3, y − 3).
        var m = ImageSampler.RectToGrid(-3, -3, 16, 14, 16, 14);
        var dst = new byte[16 * 14 * 3];
        ImageSampler.Warp(frame, m, 16, 14, dst);
        Assert.Equal(TestFrames.At(frame, 0, 0), TestFrames.At(dst, 16, 0, 0));
        Assert.Equal(TestFrames.At(frame, 0, 0), TestFrames.At(dst, 16, 2, 1));
        Assert.Equal(TestFrames.At(frame, 9, 7), TestFrames.At(dst, 16, 15, 13));
        Assert.Equal(TestFrames.At(frame, 4, 0), TestFrames.At(dst, 16, 7, 0));   // above row 0, column 4
        Assert.Equal(TestFrames.At(frame, 0, 5), TestFrames.At(dst, 16, 1, 8));   // left of column 0, row 5
        Assert.Equal(TestFrames.At(frame, 5, 4), TestFrames.At(dst, 16, 8, 7));   // interior moved by 3
    }

    [Fact]
    public void Warp_HalfPixelShift_InterpolatesBilinearlyAndRounds()
    {
        using var frame = TestFrames.From(2, 1, (x, _) => x == 0 ? ((byte)0, (byte)100, (byte)200) : ((byte)101, (byte)201, (byte)1));
        var dst = new byte[3];
        ImageSampler.Warp(frame, new Affine(1, 0, 0.5, 0, 1, 0), 1, 1, dst);
        Assert.Equal([51, 151, 101], dst); // 50.5, 150.5, 100.5 rounded to nearest
    }

    [Fact]
    public void Warp_RejectsTooSmallDestination()
    {
        using var frame = TestFrames.Random(4, 4, seed: 3);
        Assert.Throws<ArgumentException>(() => ImageSampler.Warp(frame, Affine.Identity, 4, 4, new byte[47]));
    }

    // A 2×1 image: pixel 0 = (B 1, G 2, R 3), pixel 1 = (B 4, G 5, R 6).
    private static readonly byte[] TwoPixels = [1, 2, 3, 4, 5, 6];

    [Fact]
    public void Planar_Bgr_WritesBlueGreenRedPlanes()
    {
        var t = new float[6];
        TensorWriter.Planar(TwoPixels, 2, t, rgb: false, mean: 0, scale: 1);
        Assert.Equal([1f, 4f, 2f, 5f, 3f, 6f], t);
    }

    [Fact]
    public void Planar_Rgb_WritesRedGreenBluePlanes()
    {
        var t = new float[6];
        TensorWriter.Planar(TwoPixels, 2, t, rgb: true, mean: 0, scale: 1);
        Assert.Equal([3f, 6f, 2f, 5f, 1f, 4f], t);
    }

    [Fact]
    public void Planar_AppliesMeanThenScale()
    {
        var t = new float[6];
        TensorWriter.Planar(TwoPixels, 2, t, rgb: false, mean: 2, scale: 0.5f);
        Assert.Equal([-0.5f, 1f, 0f, 1.5f, 0.5f, 2f], t);
    }

    [Fact]
    public void Planar_Mirror_ReversesEachRow()
    {
        // 3×2 image, B = 10·y + x.
        var bgr = new byte[18];
        for (var y = 0; y < 2; y++) for (var x = 0; x < 3; x++) bgr[(y * 3 + x) * 3] = (byte)(10 * y + x);
        var t = new float[18];
        TensorWriter.Planar(bgr, 6, t, rgb: false, mean: 0, scale: 1, mirror: true, width: 3);
        Assert.Equal([2f, 1f, 0f, 12f, 11f, 10f], t[..6]);
    }

    [Fact]
    public void Planar_RejectsTooSmallTensor()
    {
        Assert.Throws<ArgumentException>(() => TensorWriter.Planar(TwoPixels, 2, new float[5], rgb: false, mean: 0, scale: 1));
    }

    [Fact]
    public void Gray_UsesBt601Weights()
    {
        byte[] bgr = [200, 0, 0, 0, 200, 0, 0, 0, 200, 255, 255, 255];
        var t = new float[4];
        TensorWriter.Gray(bgr, 4, t, 0.5f);
        Assert.Equal(0.114f * 200 * 0.5f, t[0], 4);
        Assert.Equal(0.587f * 200 * 0.5f, t[1], 4);
        Assert.Equal(0.299f * 200 * 0.5f, t[2], 4);
        Assert.Equal(127.5f, t[3], 3);
    }
}
