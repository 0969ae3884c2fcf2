using EdgeGate.Core.Access;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Liveness;
using EdgeGate.Core.Ports;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests.Access;

/// <summary>
/// Bytes allocated per frame by <see cref="AccessPipeline.Process"/> through the real <see cref="FaceEngine"/> (detector
/// decode and NMS, landmarks, alignment, quality, embedder pre-processing, tracker, matcher) with models that answer
/// instantly. Measured with <see cref="GC.GetAllocatedBytesForCurrentThread"/>, which is exact, after a warm-up.
/// </summary>
public sealed class SteadyStateAllocationTests
{
    private const int Frames = 50;
    private const long BudgetPerFrame = 1024;

    /// <summary>A model with fixed outputs whose Run records nothing (the recording FakeModel allocates per run).</summary>
    private sealed class FixedModel(int inputSize, params float[][] outputs) : IInferenceModel
    {
        private readonly float[] _input = new float[inputSize];
        public int Runs { get; private set; }
        public Span<float> Input(int index = 0) => _input;
        public ReadOnlySpan<float> Output(int index = 0) => outputs[index];
        public void Run() => Runs++;
        public void Dispose() { }
    }

    private static float[] FaceVector()
    {
        var v = new float[FaceEmbedder.Dimension];
        for (var i = 0; i < v.Length; i++) v[i] = MathF.Sin(i * 0.37f) + 0.1f;
        return v;
    }

    private static (FaceEngine Engine, FixedModel Embedder) Engine()
    {
        var scores = new float[UltraFaceDetector.Anchors * 2];
        var boxes = new float[UltraFaceDetector.Anchors * 4];
        scores[1] = 0.99f;
        boxes[0] = 0.3f; boxes[1] = 0.2f; boxes[2] = 0.7f; boxes[3] = 0.8f;
        var points = new float[LandmarkDetector.PointCount * 2];
        for (var i = 0; i < LandmarkDetector.PointCount; i++) { points[2 * i] = 0.5f; points[2 * i + 1] = 0.6f; }
        void Set(int i, float x, float y) { points[2 * i] = x; points[2 * i + 1] = y; }
        for (var i = 36; i < 42; i++) Set(i, 0.35f, 0.4f);
        for (var i = 42; i < 48; i++) Set(i, 0.65f, 0.4f);
        Set(30, 0.5f, 0.55f);
        Set(48, 0.38f, 0.72f);
        Set(54, 0.62f, 0.72f);
        var embedder = new FixedModel(FaceAligner.Size * FaceAligner.Size * 3, FaceVector());
        var engine = new FaceEngine(
            new UltraFaceDetector(new FixedModel(UltraFaceDetector.InputWidth * UltraFaceDetector.InputHeight * 3, scores, boxes), new DetectorOptions()),
            new LandmarkDetector(new FixedModel(LandmarkDetector.InputSize * LandmarkDetector.InputSize, points)),
            new FaceEmbedder(embedder, "m"),
            new FaceQualityOptions());
        return (engine, embedder);
    }

    private sealed class OnePerson(Person person) : IPersonDirectory
    {
        public Person? Find(string personId) => personId == person.Id ? person : null;
    }

    private sealed class CountingDoor : IDoorActuator
    {
        public int Opens { get; private set; }
        public long Open(string cause) { Opens++; return 0; }
    }

    /// <param name="enrolled">the face's own vector (granted on the first frame), else an unrelated one (a stranger).</param>
    private static (long PerFrame, int Embeds, int Opens) Measure(bool enrolled, AccessOptions options, ILivenessStage? liveness = null)
    {
        var (engine, embedder) = Engine();
        using var _ = engine;
        var template = enrolled ? FaceVector() : FaceVector().Select((x, i) => i % 2 == 0 ? -x : x * 0.1f).ToArray();
        var matcher = new GalleryMatcher("m", new MatchOptions(), new ScoreCalibration(29.84, -9.97));
        var now = DateTimeOffset.UnixEpoch;
        matcher.Load([new FaceTemplate(1, "alice", "m", template, 1, now)]);
        var door = new CountingDoor();
        using var pipeline = new AccessPipeline(engine, matcher, new OnePerson(new Person("alice", "Alice", true, null, null, now, now)),
            door, liveness ?? DisabledLiveness.Instance, options);
        using var image = TestFrames.Random(360, 288, 1);
        var frames = Enumerable.Range(0, 10 + Frames)
            .Select(i => new CapturedFrame(image, i, TimeSpan.FromMilliseconds(40 * i), 0)).ToArray();
        for (var i = 0; i < 10; i++) pipeline.Process(frames[i]);
        var runsBefore = embedder.Runs;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 10; i < frames.Length; i++) pipeline.Process(frames[i]);
        var perFrame = (GC.GetAllocatedBytesForCurrentThread() - before) / Frames;
        Assert.Equal(1, pipeline.LastFrame.Faces);
        return (perFrame, embedder.Runs - runsBefore, door.Opens);
    }

    [Fact]
    public void FrameOfADecidedTrack_AllocatesAtMostOneKilobyte()
    {
        var (perFrame, embeds, opens) = Measure(enrolled: true, new AccessOptions());
        Assert.Equal(1, opens);   // granted during warm-up; the measured frames are the decided steady state
        Assert.Equal(0, embeds);
        Assert.True(perFrame <= BudgetPerFrame, $"{perFrame} bytes per frame");
    }

    [Fact]
    public void FrameOfARecognisedFaceAwaitingLiveness_AllocatesAtMostOneKilobyte()
    {
        // The default policy (passive, then blink or mouth) with landmarks that never blink or move their lips and a
        // long budget: every measured frame scores, follows eyes, mouth and motion, and asks for the verdict.
        var stage = new LivenessStage(new LivenessPolicy { Budget = TimeSpan.FromHours(1) }, new AlwaysReal());
        var (perFrame, embeds, opens) = Measure(enrolled: true, new AccessOptions(), stage);
        Assert.Equal(0, opens);   // recognised, still pending liveness
        Assert.Equal(0, embeds);
        Assert.True(perFrame <= BudgetPerFrame, $"{perFrame} bytes per frame");
    }

    [Fact]
    public void FrameThatEmbedsAndMatches_AllocatesAtMostOneKilobyte()
    {
        // A stranger the rules never give up on: every measured frame runs the embedder (face + mirror) and the 1:N search.
        var (perFrame, embeds, opens) = Measure(enrolled: false,
            new AccessOptions { UnknownAfterEmbeddings = 1000, DecisionBudget = TimeSpan.FromHours(1) });
        Assert.Equal(0, opens);
        Assert.Equal(2 * Frames, embeds);
        Assert.True(perFrame <= BudgetPerFrame, $"{perFrame} bytes per frame");
    }
}

/// <summary>A passive scorer that always says "real": the allocation test is about the session, not the model.</summary>
file sealed class AlwaysReal : IPassiveLivenessScorer
{
    public float Score(BgrFrame frame, in FaceBox box) => 0.9f;
}
