using EdgeGate.Core.Faces;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests;

public class LandmarkTests
{
    private static PointF[] Synthetic68() => Enumerable.Range(0, 68).Select(i => new PointF(i, 2 * i + 1)).ToArray();

    [Fact]
    public void From68_TakesEyeMeansNoseTipAndMouthCorners()
    {
        var five = FivePoints.From68(Synthetic68());
        Assert.Equal(new PointF(38.5f, 78f), five.LeftEye);   // mean of 36..41
        Assert.Equal(new PointF(44.5f, 90f), five.RightEye);  // mean of 42..47
        Assert.Equal(new PointF(30, 61), five.Nose);
        Assert.Equal(new PointF(48, 97), five.MouthLeft);
        Assert.Equal(new PointF(54, 109), five.MouthRight);
    }

    [Fact]
    public void From68_IgnoresPointsOutsideTheEyeGroups()
    {
        var p = Synthetic68();
        var before = FivePoints.From68(p);
        p[35] = new PointF(1000, 1000);
        p[47] = new PointF(-1000, -1000); // in the right eye group
        var after = FivePoints.From68(p);
        Assert.Equal(before.LeftEye, after.LeftEye);
        Assert.NotEqual(before.RightEye, after.RightEye);
    }

    [Fact]
    public void From68_RejectsWrongCount()
    {
        Assert.Throws<ArgumentException>(() => FivePoints.From68(new PointF[5]));
    }

    [Fact]
    public void EyeDistance_IsEuclidean()
    {
        var five = new FivePoints(new(10, 10), new(13, 14), default, default, default);
        Assert.Equal(5f, five.EyeDistance, 6);
    }

    [Fact]
    public void CopyTo_WritesPointsInTemplateOrder()
    {
        var five = new FivePoints(new(1, 1), new(2, 2), new(3, 3), new(4, 4), new(5, 5));
        var dst = new PointF[5];
        five.CopyTo(dst);
        Assert.Equal([new(1, 1), new(2, 2), new(3, 3), new(4, 4), new PointF(5, 5)], dst);
    }

    [Fact]
    public void ToImage_ScalesBySideAndOffsetsByOrigin()
    {
        var norm = new float[136];
        norm[0] = 0.25f; norm[1] = 0.5f;       // point 0
        norm[134] = 1f; norm[135] = 0f;        // point 67
        var pts = LandmarkDetector.ToImage(norm, 100, 50, 80);
        Assert.Equal(68, pts.Length);
        Assert.Equal(new PointF(120, 90), pts[0]);
        Assert.Equal(new PointF(180, 50), pts[67]);
        Assert.Equal(new PointF(100, 50), pts[1]);
    }

    [Fact]
    public void Detect_CropsSquareOfBoxHeightAroundCentre_AndFeedsGrayOver256()
    {
        var model = new FakeModel(64 * 64, 136);
        var outputs = model.OutputBuffer();
        for (var i = 0; i < 68; i++) { outputs[2 * i] = 0.5f; outputs[2 * i + 1] = 0.5f; }
        outputs[0] = 0; outputs[1] = 0;
        using var detector = new LandmarkDetector(model);
        using var frame = TestFrames.Solid(300, 200, 100, 150, 200);
        // Box 60 wide, 80 high, centred at (130, 90): square side 80 from (90, 50).
        var pts = detector.Detect(frame, new FaceBox(100, 50, 160, 130, 0.9f));
        Assert.Equal(new PointF(90, 50), pts[0]);
        Assert.Equal(new PointF(130, 90), pts[1]);
        var gray = (0.114f * 100 + 0.587f * 150 + 0.299f * 200) / 256;
        Assert.All(model.RecordedInput(0), v => Assert.Equal(gray, v, 4));
    }
}
