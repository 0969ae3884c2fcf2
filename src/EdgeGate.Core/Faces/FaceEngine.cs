using EdgeGate.Core.Frames;

namespace EdgeGate.Core.Faces;

/// <summary>One face found in a frame, with its landmarks, alignment and quality, not yet embedded.</summary>
public sealed class FaceObservation
{
    public FaceObservation(FaceBox box, PointF[] landmarks, FivePoints five, Affine imageToTemplate, byte[] aligned, FaceQualityMetrics quality)
    {
        Box = box; Landmarks = landmarks; Five = five; ImageToTemplate = imageToTemplate; AlignedBgr = aligned; Quality = quality;
    }

    /// <summary>A slot the engine refills frame after frame (its arrays are reused, see <see cref="Access.IFaceAnalyzer"/>).</summary>
    internal FaceObservation()
        : this(default, new PointF[LandmarkDetector.PointCount], default, Affine.Identity, new byte[FaceAligner.Size * FaceAligner.Size * 3], default)
    {
    }

    public FaceBox Box { get; internal set; }
    public PointF[] Landmarks { get; }
    public FivePoints Five { get; internal set; }
    public Affine ImageToTemplate { get; internal set; }

    /// <summary>The 112×112 aligned face, packed BGR.</summary>
    public byte[] AlignedBgr { get; }

    public FaceQualityMetrics Quality { get; internal set; }
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
    // The per-frame path (IFaceAnalyzer) reuses all of these: a frame with a tracked face allocates nothing.
    private readonly List<FaceBox> _boxes = new(16);
    private readonly List<FaceObservation> _slots = [];
    private readonly List<FaceObservation> _frameFaces = new(16);
    private readonly float[] _embedding = new float[FaceEmbedder.Dimension];
    private int _sortWidth, _sortHeight;
    private Comparison<FaceBox>? _byVisibleArea;

    public string ModelId => embedder.ModelId;
    public FaceQualityOptions QualityOptions { get; } = quality;

    // The stages one by one, for timing them separately (edgegate bench).
    public UltraFaceDetector Detector => detector;
    public LandmarkDetector Landmarks => landmarks;
    public FaceEmbedder Embedder => embedder;

    /// <summary>
    /// Every face the detector finds, most visible first, each with landmarks, alignment and quality. The result is the
    /// caller's to keep (fresh objects); the door's per-frame path uses <see cref="Access.IFaceAnalyzer.Observe"/>.
    /// </summary>
    public List<FaceObservation> Observe(BgrFrame frame)
    {
        DetectSorted(frame);
        var result = new List<FaceObservation>(_boxes.Count);
        foreach (var box in _boxes)
        {
            var face = new FaceObservation();
            Fill(frame, box, face);
            result.Add(face);
        }
        return result;
    }

    IReadOnlyList<FaceObservation> Access.IFaceAnalyzer.Observe(BgrFrame frame)
    {
        DetectSorted(frame);
        _frameFaces.Clear();
        for (var i = 0; i < _boxes.Count; i++)
        {
            if (i == _slots.Count) _slots.Add(new FaceObservation());
            Fill(frame, _boxes[i], _slots[i]);
            _frameFaces.Add(_slots[i]);
        }
        return _frameFaces;
    }

    public float[] Embed(FaceObservation face) => embedder.Embed(face.AlignedBgr);

    ReadOnlySpan<float> Access.IFaceAnalyzer.Embed(FaceObservation face)
    {
        embedder.Embed(face.AlignedBgr, _embedding);
        return _embedding;
    }

    private void DetectSorted(BgrFrame frame)
    {
        detector.Detect(frame, _boxes);
        (_sortWidth, _sortHeight) = (frame.Width, frame.Height);
        _byVisibleArea ??= (a, b) => b.VisibleArea(_sortWidth, _sortHeight).CompareTo(a.VisibleArea(_sortWidth, _sortHeight));
        _boxes.Sort(_byVisibleArea);
    }

    private void Fill(BgrFrame frame, in FaceBox box, FaceObservation face)
    {
        landmarks.Detect(frame, box, face.Landmarks);
        var five = FivePoints.From68(face.Landmarks);
        var toTemplate = FaceAligner.Align(frame, five, face.AlignedBgr);
        var (yaw, pitch, roll) = FaceQualityMeter.Pose(five, toTemplate);
        face.Box = box;
        face.Five = five;
        face.ImageToTemplate = toTemplate;
        face.Quality = new FaceQualityMetrics(five.EyeDistance, FaceQualityMeter.Sharpness(face.AlignedBgr, FaceAligner.Size), yaw, pitch, roll);
    }

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
