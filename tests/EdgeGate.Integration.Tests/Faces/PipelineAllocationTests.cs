using EdgeGate.Camera;
using EdgeGate.Core.Access;
using EdgeGate.Core.Capture;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Ports;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Faces;

/// <summary>
/// Managed bytes allocated per frame by <see cref="AccessPipeline.Process"/> with the real models (ORT), on real video
/// frames of one speaker, measured with <see cref="GC.GetAllocatedBytesForCurrentThread"/> after a warm-up.
/// ORT's own native allocations are not managed garbage and are not counted.
/// </summary>
public sealed class PipelineAllocationTests(FaceStackFixture fixture, ITestOutputHelper output) : IClassFixture<FaceStackFixture>
{
    private const long BudgetPerFrame = 1024;
    /// <summary>Enough frames for the JIT's tiering to settle (its call counting and re-compilation allocate on this thread).</summary>
    private const int WarmUp = 100;
    private const int ClipFrames = 60;
    private const int Windows = 3;

    private sealed class Door : IDoorActuator
    {
        public int Opens { get; private set; }
        public long Open(string cause) { Opens++; return System.Diagnostics.Stopwatch.GetTimestamp(); }
    }

    private sealed class Directory(Person person) : IPersonDirectory
    {
        public Person? Find(string personId) => personId == person.Id ? person : null;
    }

    private static List<BgrFrame> Decode(string path, int count)
    {
        var frames = new List<BgrFrame>();
        using var source = new GstFrameSource(CameraSourceSpec.Parse(path, new CameraSourceOptions { RealTime = false }));
        source.Start();
        while (frames.Count < count && source.Read(TimeSpan.FromSeconds(10), out var frame) == FrameReadStatus.Frame && frame is not null)
        {
            using (frame)
            {
                var copy = new BgrFrame(frame.Image.Width, frame.Image.Height);
                frame.Image.Pixels.CopyTo(copy.Pixels);
                frames.Add(copy);
            }
        }
        return frames;
    }

    /// <param name="enrolSpeaker">the speaker's own face in the gallery (granted, then tracked) or only a stranger's vector.</param>
    private (long PerFrame, int Embedded, int Opens)? Measure(bool enrolSpeaker, AccessOptions options, int measured)
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return null;
        var frames = Decode(Path.Combine(faces, "video", "grid_id2_vcd_swwp2s.mpg"), ClipFrames);
        try
        {
            Assert.Equal(ClipFrames, frames.Count);
            var stack = fixture.Stack;
            var speaker = stack.Engine.AnalyzeSingle(frames[ClipFrames / 2]);
            Assert.True(speaker.Ok, speaker.Detail);
            var stranger = new float[FaceEmbedder.Dimension];
            for (var i = 0; i < stranger.Length; i++) stranger[i] = MathF.Cos(i * 1.7f);
            Embeddings.Normalize(stranger);
            var now = DateTimeOffset.UtcNow;
            var matcher = new GalleryMatcher(stack.Engine.ModelId, stack.Matcher.Options, stack.Matcher.Calibration);
            matcher.Load([new FaceTemplate(1, "p", stack.Engine.ModelId, enrolSpeaker ? speaker.Embedding! : stranger, 1, now)]);
            var door = new Door();
            using var pipeline = new AccessPipeline(stack.Engine, matcher, new Directory(new Person("p", "P", true, null, null, now, now)),
                door, DisabledLiveness.Instance, options);
            // The clip played forwards then backwards, over and over: one continuous track of the speaker.
            var captured = Enumerable.Range(0, WarmUp + Windows * measured)
                .Select(i => new CapturedFrame(frames[Bounce(i)], i, TimeSpan.FromMilliseconds(40 * i), 0)).ToArray();
            for (var i = 0; i < WarmUp; i++) pipeline.Process(captured[i]);
            int embedded = 0, withoutOneFace = 0;
            // Steady state is what every window shows: a one-off (the runtime's tiered JIT finishing a method on this
            // thread while the full suite loads the machine) lands in one window, a per-frame allocation in all of them.
            var perWindow = new long[Windows];
            for (var w = 0; w < Windows; w++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = WarmUp + w * measured; i < WarmUp + (w + 1) * measured; i++)
                {
                    pipeline.Process(captured[i]);
                    embedded += pipeline.LastFrame.Embedded;
                    if (pipeline.LastFrame.Faces != 1) withoutOneFace++; // no Assert in here: xunit's asserts allocate
                }
                perWindow[w] = (GC.GetAllocatedBytesForCurrentThread() - before) / measured;
            }
            Assert.Equal(0, withoutOneFace);
            var perFrame = perWindow.Min();
            output.WriteLine($"{string.Join(" / ", perWindow)} bytes per frame in {Windows} windows of {measured} frames, {embedded} embedded, {door.Opens} opens");
            return (perFrame, embedded, door.Opens);
        }
        finally
        {
            foreach (var f in frames) f.Dispose();
        }
    }

    private static int Bounce(int i)
    {
        var period = 2 * (ClipFrames - 1);
        var k = i % period;
        return k < ClipFrames ? k : period - k;
    }

    [Fact]
    public void FrameOfATrackedFace_AllocatesAtMostOneKilobyte_WithTheRealModels()
    {
        if (Measure(enrolSpeaker: true, new AccessOptions(), measured: 50) is not { } r) return;
        var (perFrame, embedded, opens) = r;
        Assert.Equal(1, opens); // granted during warm-up: the measured frames are the tracked steady state
        Assert.Equal(0, embedded);
        Assert.True(perFrame <= BudgetPerFrame, $"{perFrame} bytes per frame");
    }

    [Fact]
    public void FrameThatEmbedsAndSearches_AllocatesAtMostOneKilobyte_WithTheRealModels()
    {
        var options = new AccessOptions { UnknownAfterEmbeddings = 1000, DecisionBudget = TimeSpan.FromHours(1) };
        if (Measure(enrolSpeaker: false, options, measured: 20) is not { } r) return;
        var (perFrame, embedded, opens) = r;
        Assert.Equal(0, opens);
        Assert.Equal(Windows * 20, embedded);
        Assert.True(perFrame <= BudgetPerFrame, $"{perFrame} bytes per frame");
    }
}
