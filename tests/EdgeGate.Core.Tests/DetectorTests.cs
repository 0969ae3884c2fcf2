using EdgeGate.Core.Faces;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests;

public class DetectorTests
{
    private const int Anchors = UltraFaceDetector.Anchors;

    private static FakeModel NewModel() =>
        new(UltraFaceDetector.InputWidth * UltraFaceDetector.InputHeight * 3, Anchors * 2, Anchors * 4);

    private static void SetAnchor(float[] scores, float[] boxes, int i, float score, float x1, float y1, float x2, float y2)
    {
        scores[2 * i] = 1 - score;
        scores[2 * i + 1] = score;
        boxes[4 * i] = x1; boxes[4 * i + 1] = y1; boxes[4 * i + 2] = x2; boxes[4 * i + 3] = y2;
    }

    // Explicit, so the tests do not move when the tuned defaults do.
    private static readonly DetectorOptions Base = new() { ScoreThreshold = 0.7f, NmsIouThreshold = 0.4f, MinFaceSize = 24, PaddingFraction = 0.15f };

    private static (UltraFaceDetector Detector, FakeModel Model) NewDetector(DetectorOptions? options = null)
    {
        var model = NewModel();
        return (new UltraFaceDetector(model, options ?? Base), model);
    }

    // A 400×300 frame with 0.15 padding: the detector sees the region from (−60, −45), 520×390.
    private const double OriginX = -60, OriginY = -45, RegionW = 520, RegionH = 390;

    [Fact]
    public void Decode_MapsNormalisedBoxToFramePixels()
    {
        var (det, _) = NewDetector();
        var scores = new float[Anchors * 2];
        var boxes = new float[Anchors * 4];
        SetAnchor(scores, boxes, 100, 0.95f, 0.5f, 0.5f, 0.75f, 0.75f);
        var box = Assert.Single(det.Decode(scores, boxes, OriginX, OriginY, RegionW, RegionH));
        // x: −60 + 0.5·520 = 200, −60 + 0.75·520 = 330; y: −45 + 0.5·390 = 150, −45 + 0.75·390 = 247.5
        Assert.Equal(new FaceBox(200, 150, 330, 247.5f, 0.95f), box);
    }

    [Fact]
    public void Decode_DropsScoresBelowThreshold_KeepsScoreAtThreshold()
    {
        var (det, _) = NewDetector(Base with { ScoreThreshold = 0.7f });
        var scores = new float[Anchors * 2];
        var boxes = new float[Anchors * 4];
        SetAnchor(scores, boxes, 1, 0.69f, 0.0f, 0.0f, 0.2f, 0.2f);
        SetAnchor(scores, boxes, 2, 0.7f, 0.5f, 0.5f, 0.7f, 0.7f);
        var box = Assert.Single(det.Decode(scores, boxes, OriginX, OriginY, RegionW, RegionH));
        Assert.Equal(0.7f, box.Score);
    }

    [Fact]
    public void Decode_UsesSecondScoreColumnAsFaceProbability()
    {
        var (det, _) = NewDetector();
        var scores = new float[Anchors * 2];
        var boxes = new float[Anchors * 4];
        scores[2 * 5] = 0.99f; // background column only
        boxes[4 * 5 + 2] = 0.5f; boxes[4 * 5 + 3] = 0.5f;
        Assert.Empty(det.Decode(scores, boxes, OriginX, OriginY, RegionW, RegionH));
    }

    [Fact]
    public void Decode_ClampsCoordinatesToThePaddedRegion()
    {
        var (det, _) = NewDetector();
        var scores = new float[Anchors * 2];
        var boxes = new float[Anchors * 4];
        SetAnchor(scores, boxes, 0, 0.9f, -0.2f, -0.1f, 1.3f, 1.05f);
        var box = Assert.Single(det.Decode(scores, boxes, OriginX, OriginY, RegionW, RegionH));
        Assert.Equal(new FaceBox(-60, -45, 460, 345, 0.9f), box);
    }

    [Fact]
    public void Decode_DropsFacesShorterThanMinFaceSize()
    {
        var (det, _) = NewDetector(Base with { MinFaceSize = 24 });
        var scores = new float[Anchors * 2];
        var boxes = new float[Anchors * 4];
        // Region 520×390: height 20/390 → 20 px (dropped), 30/390 → 30 px (kept), far apart so NMS keeps both.
        SetAnchor(scores, boxes, 0, 0.9f, 0.0f, 0.0f, 0.1f, 20f / 390);
        SetAnchor(scores, boxes, 1, 0.9f, 0.5f, 0.5f, 0.6f, 0.5f + 30f / 390);
        var box = Assert.Single(det.Decode(scores, boxes, OriginX, OriginY, RegionW, RegionH));
        Assert.Equal(30, box.Height, 3);
    }

    [Fact]
    public void Decode_AppliesNms()
    {
        var (det, _) = NewDetector(Base with { NmsIouThreshold = 0.4f });
        var scores = new float[Anchors * 2];
        var boxes = new float[Anchors * 4];
        SetAnchor(scores, boxes, 0, 0.8f, 0.2f, 0.2f, 0.4f, 0.4f);
        SetAnchor(scores, boxes, 1, 0.9f, 0.21f, 0.21f, 0.41f, 0.41f);
        var box = Assert.Single(det.Decode(scores, boxes, OriginX, OriginY, RegionW, RegionH));
        Assert.Equal(0.9f, box.Score);
    }

    [Fact]
    public void Detect_ReturnsBoxesInFramePixels()
    {
        var (det, model) = NewDetector();
        SetAnchor(model.OutputBuffer(0), model.OutputBuffer(1), 4000, 0.95f, 0.5f, 0.5f, 0.75f, 0.75f);
        using var frame = TestFrames.Solid(400, 300, 10, 20, 30);
        var box = Assert.Single(det.Detect(frame));
        Assert.Equal(1, model.Runs);
        Assert.Equal(200, box.X1, 3);
        Assert.Equal(150, box.Y1, 3);
        Assert.Equal(330, box.X2, 3);
        Assert.Equal(247.5f, box.Y2, 3);
    }

    [Fact]
    public void Detect_WithoutPadding_MapsUnitSquareToWholeFrame()
    {
        var (det, model) = NewDetector(Base with { PaddingFraction = 0 });
        SetAnchor(model.OutputBuffer(0), model.OutputBuffer(1), 7, 0.95f, 0, 0, 1, 1);
        using var frame = TestFrames.Solid(640, 480, 0, 0, 0);
        Assert.Equal(new FaceBox(0, 0, 640, 480, 0.95f), Assert.Single(det.Detect(frame)));
    }

    [Fact]
    public void Detect_WritesBgrPlanesCentredOn127ScaledBy128()
    {
        var (det, model) = NewDetector();
        using var frame = TestFrames.Solid(400, 300, 10, 20, 30);
        det.Detect(frame);
        const int n = UltraFaceDetector.InputWidth * UltraFaceDetector.InputHeight;
        var input = model.RecordedInput(0);
        Assert.All(input.AsSpan(0, n).ToArray(), v => Assert.Equal((10 - 127) / 128f, v, 6));
        Assert.All(input.AsSpan(n, n).ToArray(), v => Assert.Equal((20 - 127) / 128f, v, 6));
        Assert.All(input.AsSpan(2 * n, n).ToArray(), v => Assert.Equal((30 - 127) / 128f, v, 6));
    }

    [Fact]
    public void Detect_SqueezesThePaddedRegionIntoTheInput()
    {
        // White for frame x < 100. Input column c samples region x ≈ −60 + 1.625·(c + ½) − ½ (520 px over 320
        // columns), so the edge lands near column 98 (without padding it would be near column 80).
        var (det, model) = NewDetector();
        using var frame = TestFrames.From(400, 300, (x, _) => x < 100 ? ((byte)255, (byte)255, (byte)255) : ((byte)0, (byte)0, (byte)0));
        det.Detect(frame);
        var input = model.RecordedInput(0);
        const int w = UltraFaceDetector.InputWidth;
        float white = 128f / 128, black = -127f / 128;
        Assert.Equal(white, input[120 * w + 0], 6);   // left padding replicates frame column 0
        Assert.Equal(white, input[120 * w + 90], 6);  // frame x ≈ 86.6
        Assert.Equal(black, input[120 * w + 105], 6); // frame x ≈ 110.8
        Assert.Equal(black, input[120 * w + w - 1], 6); // right padding replicates column 399
    }

    [Fact]
    public void Options_Validate_RejectsOutOfRangeValues()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => (Base with { ScoreThreshold = 1 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (Base with { NmsIouThreshold = 0 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (Base with { MinFaceSize = -1 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (Base with { PaddingFraction = 1.5f }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new UltraFaceDetector(NewModel(), Base with { ScoreThreshold = 0 }));
    }

    [Fact]
    public void Dispose_DisposesTheModel()
    {
        var (det, model) = NewDetector();
        det.Dispose();
        Assert.True(model.Disposed);
    }
}
