using EdgeGate.Core.Frames;

namespace EdgeGate.Core.Faces;

/// <summary>One face found in a frame, with its landmarks, alignment and quality, not yet embedded.</summary>
public sealed class FaceObservation
{
    public FaceObservation(FaceBox box, PointF[] landmarks, FivePoints five, Affine imageToTemplate, byte[] aligned, FaceQualityMetrics quality)
    {
        Box = box; Landmarks = landmarks; Five = five; ImageToTemplate = imageToTemplate; AlignedBgr = aligned; Quality = quality;
    }

    public FaceBox Box { get; }
    public PointF[] Landmarks { get; }
    public FivePoints Five { get; }
    public Affine ImageToTemplate { get; }

    /// <summary>The 112×112 aligned face, packed BGR.</summary>
    public byte[] AlignedBgr { get; }

    public FaceQualityMetrics Quality { get; }
}

/// <summary>The outcome of asking for exactly one usable face: an embedding, or why there is none.</summary>
public sealed record SingleFaceResult(
    FaceObservation? Face,
    float[]? Embedding,
    float QualityScore,
    FaceRejection? Rejection,
    string? Detail,
    int FacesFound)
{
    public bool Ok => Embedding is not null;
}

/// <summary>
/// detect → landmarks → align → quality → embed, over the three models. Not thread-safe (each model holds one
/// set of bound buffers); give each pipeline thread its own engine.
/// </summary>
public sealed class FaceEngine(
    UltraFaceDetector detector,
    LandmarkDetector landmarks,
    FaceEmbedder embedder,
    FaceQualityOptions quality) : Access.IFaceAnalyzer, IDisposable
{
    public string ModelId => embedder.ModelId;
    public FaceQualityOptions QualityOptions { get; } = quality;

    /// <summary>Every face the detector finds, most visible first, each with landmarks, alignment and quality.</summary>
    public List<FaceObservation> Observe(BgrFrame frame)
    {
        var boxes = detector.Detect(frame);
        int w = frame.Width, h = frame.Height;
        boxes.Sort((a, b) => b.VisibleArea(w, h).CompareTo(a.VisibleArea(w, h)));
        var result = new List<FaceObservation>(boxes.Count);
        foreach (var box in boxes)
        {
            var pts = landmarks.Detect(frame, box);
            var five = FivePoints.From68(pts);
            var aligned = new byte[FaceAligner.Size * FaceAligner.Size * 3];
            var toTemplate = FaceAligner.Align(frame, five, aligned);
            var (yaw, pitch, roll) = FaceQualityMeter.Pose(five, toTemplate);
            var metrics = new FaceQualityMetrics(five.EyeDistance, FaceQualityMeter.Sharpness(aligned, FaceAligner.Size), yaw, pitch, roll);
            result.Add(new FaceObservation(box, pts, five, toTemplate, aligned, metrics));
        }
        return result;
    }

    public float[] Embed(FaceObservation face) => embedder.Embed(face.AlignedBgr);

    /// <summary>
    /// Runs every stage once on a blank image, so the first person at the door does not also pay for ONNX Runtime's
    /// first-run allocations and the JIT (measured on the daemon: first decision ≈ 170 ms, later ones ≈ 80 ms).
    /// </summary>
    public void WarmUp()
    {
        using var blank = new BgrFrame(320, 240);
        blank.Pixels.Fill(128);
        detector.Detect(blank);
        var box = new FaceBox(110, 60, 210, 180, 1);
        var five = FivePoints.From68(landmarks.Detect(blank, box));
        var aligned = new byte[FaceAligner.Size * FaceAligner.Size * 3];
        var toTemplate = FaceAligner.Align(blank, five, aligned);
        FaceQualityMeter.Pose(five, toTemplate);
        FaceQualityMeter.Sharpness(aligned, FaceAligner.Size);
        embedder.Embed(aligned);
    }

    /// <summary>
    /// For enrolment and still-image verification: the one clearly dominant face, passed through the quality
    /// gate and embedded. Small background faces are ignored; a second face of comparable size is an error.
    /// </summary>
    /// <param name="enforceQuality">false for offline evaluation, which measures the embedder on every face found.</param>
    /// <param name="rejectRivals">false to take the largest face even when others of similar size are present.</param>
    public SingleFaceResult AnalyzeSingle(BgrFrame frame, bool enforceQuality = true, bool rejectRivals = true)
    {
        var faces = Observe(frame);
        if (faces.Count == 0)
            return new SingleFaceResult(null, null, 0, FaceRejection.NoFace, "no face found", 0);
        var main = faces[0];
        // Compare linear sizes (square root of visible area) so the ratio reads like a face-height ratio.
        var mainSize = MathF.Sqrt(main.Box.VisibleArea(frame.Width, frame.Height));
        var rivals = faces.Count(f => f != main && MathF.Sqrt(f.Box.VisibleArea(frame.Width, frame.Height)) >= QualityOptions.SecondFaceRatio * mainSize);
        if (rejectRivals && rivals > 0)
            return new SingleFaceResult(main, null, 0, FaceRejection.MultipleFaces,
                $"{rivals + 1} faces of similar size; exactly one is required", faces.Count);
        var score = main.Quality.Score(QualityOptions);
        if (enforceQuality && QualityOptions.Check(main.Quality) is { } problem)
            return new SingleFaceResult(main, null, score, problem.Reason, problem.Detail, faces.Count);
        return new SingleFaceResult(main, Embed(main), score, null, null, faces.Count);
    }

    public void Dispose()
    {
        detector.Dispose();
        landmarks.Dispose();
        embedder.Dispose();
    }
}
