namespace EdgeGate.Core.Faces;

/// <summary>Why a face image was not used. Stable names: they appear in CLI JSON and MQTT replies.</summary>
public enum FaceRejection
{
    NoFace,
    MultipleFaces,
    FaceTooSmall,
    TooBlurry,
    ExtremePose,
}

/// <summary>Measurements of one detected face, taken from its landmarks and its aligned crop.</summary>
public readonly record struct FaceQualityMetrics(
    float EyeDistancePx,
    float Sharpness,
    float Yaw,
    float Pitch,
    float RollDegrees)
{
    /// <summary>0..1, higher is better: what templates and best-frame selection rank by.</summary>
    public float Score(FaceQualityOptions o)
    {
        var size = Math.Clamp(EyeDistancePx / (2 * o.MinEyeDistancePx), 0, 1);
        var sharp = Math.Clamp(Sharpness / (4 * o.MinSharpness), 0, 1);
        var pose = Math.Clamp(1 - MathF.Abs(Yaw) / o.MaxYaw, 0, 1);
        return (size + sharp + 2 * pose) / 4;
    }
}

/// <summary>Thresholds of the quality gate. Defaults chosen on the dev photos (see README, "Quality gate").</summary>
public sealed record FaceQualityOptions
{
    /// <summary>Distance between the eye centres in source pixels. Below ~20 px the embedding degrades quickly.</summary>
    public float MinEyeDistancePx { get; init; } = 18;

    /// <summary>
    /// Variance of the Laplacian of the aligned 112×112 grey face. Dev photos measure 26..600; the same face
    /// blurred by two 5×5 box passes measures ~10.
    /// </summary>
    public float MinSharpness { get; init; } = 15;

    /// <summary>
    /// Nose offset from the eyes' midpoint, in eye distances, after alignment (0 = frontal). Turned news photos
    /// in the dev set reach 0.57 and still match; beyond ~0.6 the far eye is hidden and landmarks guess.
    /// </summary>
    public float MaxYaw { get; init; } = 0.6f;

    /// <summary>Eyes-to-nose over eyes-to-mouth in the aligned face (template 0.49); outside the band = head tilted far up/down.</summary>
    public float MinPitch { get; init; } = 0.1f;
    public float MaxPitch { get; init; } = 0.9f;

    /// <summary>
    /// A second face at least this fraction of the largest face's height makes an image ambiguous where one face is
    /// required; smaller faces (bystanders, posters) are ignored.
    /// </summary>
    public float SecondFaceRatio { get; init; } = 0.6f;

    public void Validate()
    {
        if (MinEyeDistancePx < 0) throw new ArgumentOutOfRangeException(nameof(MinEyeDistancePx));
        if (MinSharpness < 0) throw new ArgumentOutOfRangeException(nameof(MinSharpness));
        if (MaxYaw <= 0) throw new ArgumentOutOfRangeException(nameof(MaxYaw));
        if (MinPitch >= MaxPitch) throw new ArgumentOutOfRangeException(nameof(MinPitch), "MinPitch must be below MaxPitch");
        if (SecondFaceRatio is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(SecondFaceRatio));
    }

    /// <summary>The first rule the face breaks, or null when it passes.</summary>
    public (FaceRejection Reason, string Detail)? Check(in FaceQualityMetrics m)
    {
        if (m.EyeDistancePx < MinEyeDistancePx)
            return (FaceRejection.FaceTooSmall, $"eye distance {m.EyeDistancePx:F1} px < {MinEyeDistancePx} px");
        if (MathF.Abs(m.Yaw) > MaxYaw || m.Pitch < MinPitch || m.Pitch > MaxPitch)
            return (FaceRejection.ExtremePose, $"yaw {m.Yaw:F2} (max {MaxYaw}), pitch {m.Pitch:F2} (allowed {MinPitch}..{MaxPitch})");
        if (m.Sharpness < MinSharpness)
            return (FaceRejection.TooBlurry, $"sharpness {m.Sharpness:F1} < {MinSharpness}");
        return null;
    }
}

public static class FaceQualityMeter
{
    /// <summary>Pose from the five points mapped into the template frame, where a frontal face sits on the template.</summary>
    public static (float Yaw, float Pitch, float RollDegrees) Pose(in FivePoints image, in Affine imageToTemplate)
    {
        var le = imageToTemplate.Apply(image.LeftEye);
        var re = imageToTemplate.Apply(image.RightEye);
        var nose = imageToTemplate.Apply(image.Nose);
        var ml = imageToTemplate.Apply(image.MouthLeft);
        var mr = imageToTemplate.Apply(image.MouthRight);
        var eyeMidX = (le.X + re.X) / 2; var eyeMidY = (le.Y + re.Y) / 2;
        var eyeDist = MathF.Max(1e-3f, re.X - le.X);
        var yaw = (nose.X - eyeMidX) / eyeDist;
        var mouthY = (ml.Y + mr.Y) / 2;
        var pitch = (nose.Y - eyeMidY) / MathF.Max(1e-3f, mouthY - eyeMidY);
        var roll = MathF.Atan2(image.RightEye.Y - image.LeftEye.Y, image.RightEye.X - image.LeftEye.X) * 180 / MathF.PI;
        return (yaw, pitch, roll);
    }

    /// <summary>Variance of the 4-neighbour Laplacian of the grey aligned face, over its inner region (less background).</summary>
    public static float Sharpness(ReadOnlySpan<byte> alignedBgr, int size)
    {
        const int margin = 16;
        double sum = 0, sumSq = 0;
        var n = 0;
        for (var y = margin; y < size - margin; y++)
        {
            for (var x = margin; x < size - margin; x++)
            {
                var lap = 4 * Luma(alignedBgr, size, x, y) - Luma(alignedBgr, size, x - 1, y) - Luma(alignedBgr, size, x + 1, y)
                          - Luma(alignedBgr, size, x, y - 1) - Luma(alignedBgr, size, x, y + 1);
                sum += lap; sumSq += lap * lap; n++;
            }
        }
        var mean = sum / n;
        return (float)(sumSq / n - mean * mean);
    }

    private static float Luma(ReadOnlySpan<byte> bgr, int size, int x, int y)
    {
        var i = (y * size + x) * 3;
        return 0.114f * bgr[i] + 0.587f * bgr[i + 1] + 0.299f * bgr[i + 2];
    }
}
