using EdgeGate.Core.Faces;

namespace EdgeGate.Core.Tests;

public class QualityTests
{
    // Explicit, so the tests do not move when the tuned defaults do.
    private static readonly FaceQualityOptions Options = new()
    {
        MinEyeDistancePx = 18, MinSharpness = 8, MaxYaw = 0.45f, MinPitch = 0.2f, MaxPitch = 0.8f, SecondFaceRatio = 0.6f,
    };
    private static readonly FaceQualityMetrics Good = new(EyeDistancePx: 40, Sharpness: 50, Yaw: 0.05f, Pitch: 0.5f, RollDegrees: 3);

    [Fact]
    public void Check_PassesAGoodFace()
    {
        Assert.Null(Options.Check(Good));
    }

    [Fact]
    public void Check_SmallEyeDistance_IsFaceTooSmall()
    {
        Assert.Equal(FaceRejection.FaceTooSmall, Options.Check(Good with { EyeDistancePx = 17.9f })?.Reason);
    }

    [Theory]
    [InlineData(0.46f, 0.5f)]
    [InlineData(-0.46f, 0.5f)]
    [InlineData(0f, 0.19f)]
    [InlineData(0f, 0.81f)]
    public void Check_YawOrPitchOutsideBand_IsExtremePose(float yaw, float pitch)
    {
        Assert.Equal(FaceRejection.ExtremePose, Options.Check(Good with { Yaw = yaw, Pitch = pitch })?.Reason);
    }

    [Fact]
    public void Check_LowSharpness_IsTooBlurry()
    {
        Assert.Equal(FaceRejection.TooBlurry, Options.Check(Good with { Sharpness = 7.9f })?.Reason);
    }

    [Fact]
    public void Check_ValuesOnTheLimits_Pass()
    {
        Assert.Null(Options.Check(new FaceQualityMetrics(18, 8, 0.45f, 0.2f, 0)));
        Assert.Null(Options.Check(new FaceQualityMetrics(18, 8, -0.45f, 0.8f, 0)));
    }

    [Fact]
    public void Check_ReportsTheFirstBrokenRule_SizeBeforePoseBeforeBlur()
    {
        var bad = new FaceQualityMetrics(5, 0, 0.9f, 0.5f, 0);
        Assert.Equal(FaceRejection.FaceTooSmall, Options.Check(bad)?.Reason);
        Assert.Equal(FaceRejection.ExtremePose, Options.Check(bad with { EyeDistancePx = 40 })?.Reason);
    }

    [Fact]
    public void Check_DetailNamesTheMeasurement()
    {
        var detail = Options.Check(Good with { Sharpness = 2.5f })?.Detail;
        Assert.Contains("2.5", detail);
    }

    [Fact]
    public void Validate_RejectsInvertedPitchBand()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => (Options with { MinPitch = 0.8f, MaxPitch = 0.2f }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (Options with { MaxYaw = 0 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (Options with { SecondFaceRatio = 0 }).Validate());
        Options.Validate();
        new FaceQualityOptions().Validate();
    }

    [Fact]
    public void Score_IsOneForAnIdealFace_AndFallsWithYaw()
    {
        var ideal = new FaceQualityMetrics(36, 32, 0, 0.5f, 0); // 2× min eye distance, 4× min sharpness
        Assert.Equal(1f, ideal.Score(Options), 6);
        // size 1, sharpness 1, pose 1 − 0.225/0.45 = 0.5 (weighted twice): (1 + 1 + 1) / 4
        Assert.Equal(0.75f, (ideal with { Yaw = -0.225f }).Score(Options), 5);
        // half size, quarter sharpness, frontal: (0.5 + 0.25 + 2) / 4
        Assert.Equal(2.75f / 4, new FaceQualityMetrics(18, 8, 0, 0.5f, 0).Score(Options), 5);
    }

    private static FivePoints Five(IReadOnlyList<PointF> p) => new(p[0], p[1], p[2], p[3], p[4]);

    // Hand values from the template: eye midpoint (55.9132, 51.59885), eye distance 35.2372,
    // mouth midpoint y 92.2848, nose (56.0252, 71.7366).
    private const float TemplateYaw = (56.0252f - 55.9132f) / 35.2372f;
    private const float TemplatePitch = (71.7366f - 51.59885f) / (92.2848f - 51.59885f);

    [Fact]
    public void Pose_OfFaceOnTheTemplate_IsFrontal()
    {
        var five = Five(FaceAligner.Template);
        var (yaw, pitch, roll) = FaceQualityMeter.Pose(five, FaceAligner.ImageToTemplate(five));
        Assert.Equal(TemplateYaw, yaw, 4);    // ≈ 0.003: the template's nose is 0.11 px right of the eye midpoint
        Assert.Equal(TemplatePitch, pitch, 4); // ≈ 0.495
        Assert.Equal(Math.Atan2(51.5014 - 51.6963, 73.5318 - 38.2946) * 180 / Math.PI, roll, 3);
    }

    [Fact]
    public void Pose_IsInvariantToScaleAndShift_AndRollIsTheImageRotation()
    {
        var t = 20 * Math.PI / 180;
        var rotated = FaceAligner.Template
            .Select(p => new PointF((float)(3 * (Math.Cos(t) * p.X - Math.Sin(t) * p.Y) + 40), (float)(3 * (Math.Sin(t) * p.X + Math.Cos(t) * p.Y) + 7)))
            .ToArray();
        var five = Five(rotated);
        var (yaw, pitch, roll) = FaceQualityMeter.Pose(five, FaceAligner.ImageToTemplate(five));
        Assert.Equal(TemplateYaw, yaw, 3);
        Assert.Equal(TemplatePitch, pitch, 3);
        Assert.Equal(20 + Math.Atan2(51.5014 - 51.6963, 73.5318 - 38.2946) * 180 / Math.PI, roll, 2);
    }

    [Fact]
    public void Pose_NoseTowardRightEye_GivesPositiveYaw_TowardLeftEyeNegative()
    {
        var right = FaceAligner.Template.ToArray();
        right[2] = new PointF(right[2].X + 8, right[2].Y);
        var left = FaceAligner.Template.ToArray();
        left[2] = new PointF(left[2].X - 8, left[2].Y);
        var r = Five(right);
        var l = Five(left);
        Assert.True(FaceQualityMeter.Pose(r, FaceAligner.ImageToTemplate(r)).Yaw > 0.1f);
        Assert.True(FaceQualityMeter.Pose(l, FaceAligner.ImageToTemplate(l)).Yaw < -0.1f);
    }

    [Fact]
    public void Sharpness_OfFlatImage_IsZero()
    {
        var flat = new byte[112 * 112 * 3];
        Array.Fill(flat, (byte)90);
        Assert.Equal(0f, FaceQualityMeter.Sharpness(flat, 112), 3);
    }

    [Fact]
    public void Sharpness_OfCheckerboard_IsTheLaplacianVariance()
    {
        var board = new byte[112 * 112 * 3];
        for (var y = 0; y < 112; y++)
            for (var x = 0; x < 112; x++)
                if ((x + y) % 2 == 0) board.AsSpan((y * 112 + x) * 3, 3).Fill(255);
        // Laplacian ±4·255 on alternate pixels: mean 0, variance 1020².
        Assert.Equal(1020.0 * 1020.0, FaceQualityMeter.Sharpness(board, 112), 1020.0 * 1020.0 * 1e-3);
    }

    [Fact]
    public void Sharpness_IgnoresTheBorderMargin()
    {
        // Texture only in the outer 16 px ring: the measured inner region is flat.
        var img = new byte[112 * 112 * 3];
        for (var y = 0; y < 112; y++)
            for (var x = 0; x < 112; x++)
                if ((x < 15 || x > 96 || y < 15 || y > 96) && (x + y) % 2 == 0) img.AsSpan((y * 112 + x) * 3, 3).Fill(255);
        Assert.Equal(0f, FaceQualityMeter.Sharpness(img, 112), 3);
    }
}
