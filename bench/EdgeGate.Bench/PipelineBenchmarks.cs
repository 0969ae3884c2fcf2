using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using EdgeGate.Camera;
using EdgeGate.Composition;
using EdgeGate.Core.Access;
using EdgeGate.Core.Capture;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Ports;

namespace EdgeGate.Bench;

/// <summary>
/// <see cref="AccessPipeline.Process"/> per frame in the daemon's steady state, on real GRID video frames (360×288, one
/// speaker in view) with the real face stack, a gallery holding that speaker (enrolled from another clip, as
/// scripts/run.sh and scripts/bench-daemon.sh do), a fake relay and liveness off.
/// Frames/s = 1000 / Median(ms). Run: dotnet run -c Release --project bench/EdgeGate.Bench -- --filter '*Pipeline*'
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><b>decided track</b>: the person is still standing there after their decision. Each frame still pays for
/// <c>Observe</c> (detect, 68 landmarks, 5-point align to 112×112, sharpness/pose) and the tracker; nothing is embedded.
/// This is the sustained cost per frame while anyone is in view.</item>
/// <item><b>no face</b>: an empty background (the clip's top-left 100×100 corner stretched to full size): detect only.
/// This is the idle cost per frame.</item>
/// <item><b>decision frame</b> (<see cref="PipelineDecisionBenchmarks"/>): the first frame of a new track, which is
/// granted on that frame: Observe + embed (face and mirror) + 1:N match + door.</item>
/// </list>
/// The frames are decoded once (GStreamer, fast mode) and copied out of the pool; each benchmark frame is a
/// <see cref="CapturedFrame"/> made in setup, so the allocations reported are Process's own.
/// <para>Measured (x64, 2 cores, ORT 1.30, load average 4–5 from other builds; two runs, median ms → frames/s = 1000/median):</para>
/// <code>
///                        1 thread                      2 threads                   allocated/frame
/// decided track          11.7–12.6 ms = 79–86 fps      12.6–15.5 ms = 65–80 fps    38.9 KB (37.6 KB is the aligned 112×112 face)
/// no face                 8.8–11.0 ms = 91–113 fps      9.4–12.2 ms = 82–106 fps    333 B
/// decision frame           60–79 ms = 13–17 fps          51–61 ms = 16–20 fps       44.7 KB
/// </code>
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
public class PipelineBenchmarks
{
    private PipelineRig _rig = null!;
    private AccessPipeline _decided = null!;
    private AccessPipeline _idle = null!;
    private CapturedFrame[] _faceFrames = null!;
    private CapturedFrame[] _emptyFrames = null!;
    private int _next;
    private int _nextEmpty;
    private int _setupFrames;
    private int _unexpectedDecisions;

    /// <summary>ONNX Runtime intra-op threads per model (the daemon's EdgeGate:Recognition:Threads, default 1).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rig = PipelineRig.Create(Threads);
        // Monotonic stream time at the clip's 25 fps, over enough frames that no run wraps around (a wrap would only
        // step the clock back, which a decided track ignores).
        _faceFrames = PipelineRig.Ring(_rig.Frames, 8192);
        _emptyFrames = PipelineRig.Ring([_rig.Empty], 8192);

        // Decide the person's track up front on the ring's first frames: from then on every frame of it is the steady state.
        _decided = _rig.NewPipeline();
        var granted = 0;
        for (; _next < 10; _next++) granted += _decided.Process(_faceFrames[_next]).Count(d => d.Granted);
        if (granted != 1) throw new InvalidOperationException($"setup: expected the speaker's track to be granted once, got {granted} grants");
        _setupFrames = _next;

        _idle = _rig.NewPipeline();
        if (_rig.Engine.Observe(_rig.Empty).Count != 0) throw new InvalidOperationException("setup: the empty frame has a face in it");
    }

    [Benchmark(Description = "frame of a decided track (detect+landmarks+align+track)")]
    public int DecidedTrack()
    {
        var decisions = _decided.Process(_faceFrames[_next++ & (_faceFrames.Length - 1)]);
        _unexpectedDecisions += decisions.Count; // a lost track would start a new one and decide again
        return _decided.LastFrame.Faces;
    }

    [Benchmark(Description = "frame with no face (detect)")]
    public int NoFace()
    {
        var decisions = _idle.Process(_emptyFrames[_nextEmpty++ & (_emptyFrames.Length - 1)]);
        _unexpectedDecisions += decisions.Count;
        return _idle.LastFrame.Faces;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // The decided track must never be decided again (tracker lost it), nor a face found in the empty frames.
        Console.WriteLine($"// PipelineBenchmarks(Threads={Threads}): {_next - _setupFrames} decided-track frames, {_nextEmpty} empty frames; " +
                          $"{_unexpectedDecisions} unexpected decisions{(_unexpectedDecisions == 0 ? "" : " (WARNING: figures include decision frames)")}");
        _decided.Dispose();
        _idle.Dispose();
        _rig.Dispose();
    }
}

/// <summary>
/// The frame on which a decision is made: each iteration ends the previous person's track (an empty frame 2 s later, in
/// iteration setup, unmeasured), then times one face frame, which starts a new track and is granted on it: detect,
/// landmarks, align, quality gate, embed (face + mirror), 1:N match, person lookup, door. One invocation per iteration,
/// because a decision happens once per track. Cooldown is 0, as in bench-daemon.sh, so every iteration really opens.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[InvocationCount(1, unrollFactor: 1)]
public class PipelineDecisionBenchmarks
{
    private PipelineRig _rig = null!;
    private AccessPipeline _pipeline = null!;
    private BgrFrame[] _grantingFrames = null!;
    private CapturedFrame _frame = null!;
    private TimeSpan _clock;
    private long _sequence;
    private int _next;
    private int _runs;
    private int _grants;
    private readonly List<double> _latencies = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rig = PipelineRig.Create(Threads);
        _pipeline = _rig.NewPipeline();
        // Keep the frames that are granted on first sight (similarity ≥ ConfirmBelow), so every timed frame decides.
        var granting = new List<BgrFrame>();
        foreach (var image in _rig.Frames)
        {
            EndTrack();
            if (Process(image) is [{ Granted: true }]) granting.Add(image);
        }
        if (granting.Count == 0)
            throw new InvalidOperationException("setup: no frame of the clip is granted on its own; the decision benchmark would measure pending frames");
        Console.WriteLine($"// PipelineDecisionBenchmarks: {granting.Count} of {_rig.Frames.Length} frames grant on first sight");
        _grantingFrames = [.. granting];
        _runs = _grants = 0;
        _latencies.Clear();
    }

    [IterationSetup]
    public void NextPerson()
    {
        EndTrack();
        _clock += TimeSpan.FromMilliseconds(40);
        _frame = new CapturedFrame(_grantingFrames[_next++ % _grantingFrames.Length], _sequence++, _clock, Stopwatch.GetTimestamp());
    }

    [Benchmark(Description = "decision frame (new track: detect+landmarks+embed x2+match+door)")]
    public int DecisionFrame()
    {
        var decisions = _pipeline.Process(_frame);
        _runs++;
        if (decisions.Count == 1 && decisions[0].Granted)
        {
            _grants++;
            _latencies.Add(decisions[0].LatencyMs);
        }
        return decisions.Count;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _latencies.Sort();
        var median = _latencies.Count > 0 ? _latencies[_latencies.Count / 2] : double.NaN;
        Console.WriteLine($"// PipelineDecisionBenchmarks(Threads={Threads}): {_grants} of {_runs} timed frames granted; " +
                          $"in-process latency (frame arrival → relay) median {median:F1} ms");
        if (_grants != _runs) Console.WriteLine("// WARNING: some timed frames were not decisions; the figures mix in other frames");
        _pipeline.Dispose();
        _rig.Dispose();
    }

    private IReadOnlyList<AccessDecision> Process(BgrFrame image)
    {
        _clock += TimeSpan.FromMilliseconds(40);
        var frame = new CapturedFrame(image, _sequence++, _clock, Stopwatch.GetTimestamp());
        return _pipeline.Process(frame); // frame not disposed: the rig owns the pixels
    }

    /// <summary>An empty frame after more than the tracker's MaxUnseen (1 s): the previous track ends (already decided: no event).</summary>
    private void EndTrack()
    {
        _clock += TimeSpan.FromSeconds(2);
        var ended = _pipeline.Process(new CapturedFrame(_rig.Empty, _sequence++, _clock, Stopwatch.GetTimestamp()));
        if (ended.Count != 0) throw new InvalidOperationException($"ending a track made {ended.Count} decisions");
    }
}

/// <summary>The face stack, the gallery and the decoded frames shared by the pipeline benchmarks.</summary>
internal sealed class PipelineRig : IDisposable
{
    public const string PersonId = "grid";

    private readonly FaceStack _stack;

    private PipelineRig(FaceStack stack, BgrFrame[] frames, BgrFrame empty, IPersonDirectory people)
    {
        _stack = stack; Frames = frames; Empty = empty; People = people;
    }

    public BgrFrame[] Frames { get; }
    public BgrFrame Empty { get; }
    public IPersonDirectory People { get; }
    public EdgeGate.Core.Faces.FaceEngine Engine => _stack.Engine;
    public GalleryMatcher Matcher => _stack.Matcher;

    /// <summary>Fake relay: "energised" now.</summary>
    public IDoorActuator Door { get; } = new FakeDoor();

    public static PipelineRig Create(int threads, int frameCount = 30)
    {
        var stack = FaceStack.Create(new FaceStackOptions { IntraOpThreads = threads });
        try
        {
            // The speaker enrolled as the CLI does it (`enrol --frame-at 1.0 grid_pwij3p.mpg`): another recording.
            using var enrolFrame = Decode(BenchVideo.Path("grid_pwij3p.mpg"), int.MaxValue, TimeSpan.FromSeconds(1.0)).Single();
            var enrolled = stack.Engine.AnalyzeSingle(enrolFrame);
            if (!enrolled.Ok) throw new InvalidOperationException($"setup: cannot enrol the speaker: {enrolled.Rejection} {enrolled.Detail}");
            var now = DateTimeOffset.UtcNow;
            stack.Matcher.Load([new FaceTemplate(1, PersonId, stack.Engine.ModelId, enrolled.Embedding!, enrolled.QualityScore, now)]);
            var person = new Person(PersonId, "GRID speaker", true, null, null, now, now);

            var frames = Decode(BenchVideo.Path("grid_id2_vcd_swwp2s.mpg"), frameCount, null).ToArray();
            var empty = StretchCorner(frames[0], 100);
            return new PipelineRig(stack, frames, empty, new OnePerson(person));
        }
        catch
        {
            stack.Dispose();
            throw;
        }
    }

    /// <summary>The daemon's pipeline settings, except a cooldown of 0 so the same person can be granted again.</summary>
    public AccessPipeline NewPipeline() =>
        new(Engine, Matcher, People, Door, DisabledLiveness.Instance, new AccessOptions { Cooldown = TimeSpan.Zero });

    /// <summary>
    /// <paramref name="count"/> CapturedFrames cycling over <paramref name="images"/> with stream time advancing 40 ms a
    /// frame. <paramref name="count"/> must be a power of two (the benchmarks index with a mask).
    /// </summary>
    public static CapturedFrame[] Ring(BgrFrame[] images, int count)
    {
        var arrived = Stopwatch.GetTimestamp();
        var ring = new CapturedFrame[count];
        for (var i = 0; i < count; i++)
            ring[i] = new CapturedFrame(images[i % images.Length], i, TimeSpan.FromMilliseconds(40 * i), arrived);
        return ring;
    }

    /// <summary>
    /// Decodes a video in fast mode (every frame), copying each one out of the frame pool. With <paramref name="at"/>,
    /// returns only the first frame at or after that stream time, as `enrol --frame-at` picks it.
    /// </summary>
    private static IEnumerable<BgrFrame> Decode(string path, int count, TimeSpan? at)
    {
        var result = new List<BgrFrame>();
        using var source = new GstFrameSource(CameraSourceSpec.Parse(path, new CameraSourceOptions { RealTime = false }));
        source.Start();
        BgrFrame? last = null;
        while (result.Count < count)
        {
            var status = source.Read(TimeSpan.FromSeconds(10), out var frame);
            if (status == FrameReadStatus.Timeout) throw new InvalidOperationException($"{path}: no frame within 10 s");
            if (status == FrameReadStatus.EndOfStream || frame is null) break;
            using (frame)
            {
                var copy = new BgrFrame(frame.Image.Width, frame.Image.Height);
                frame.Image.Pixels.CopyTo(copy.Pixels);
                if (at is null) { result.Add(copy); continue; }
                last?.Dispose();
                last = copy;
                if (frame.StreamTime >= at) break;
            }
        }
        if (at is not null && last is not null) result.Add(last);
        if (result.Count == 0) throw new InvalidOperationException($"{path}: no frames decoded");
        return result;
    }

    /// <summary>The top-left <paramref name="side"/>² corner (background) stretched, nearest neighbour, to the frame's size.</summary>
    private static BgrFrame StretchCorner(BgrFrame src, int side)
    {
        var dst = new BgrFrame(src.Width, src.Height);
        for (var y = 0; y < dst.Height; y++)
        {
            var srcRow = src.Row(y * side / dst.Height);
            var dstRow = dst.Row(y);
            for (var x = 0; x < dst.Width; x++)
                srcRow.Slice(x * side / dst.Width * 3, 3).CopyTo(dstRow.Slice(x * 3, 3));
        }
        return dst;
    }

    public void Dispose()
    {
        foreach (var f in Frames) f.Dispose();
        Empty.Dispose();
        _stack.Dispose();
    }

    private sealed class FakeDoor : IDoorActuator
    {
        public long Open(string cause) => Stopwatch.GetTimestamp();
    }

    private sealed class OnePerson(Person person) : IPersonDirectory
    {
        public Person? Find(string personId) => personId == person.Id ? person : null;
    }
}

internal static class BenchVideo
{
    /// <summary>A clip from the shared dev data's video folder ($EDGEGATE_FACES or shared/faces beside the checkout).</summary>
    public static string Path(string name)
    {
        var faces = System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(BenchData.Photo)))!;
        var video = System.IO.Path.Combine(faces, "video", name);
        return File.Exists(video) ? System.IO.Path.GetFullPath(video) : throw new FileNotFoundException("benchmark video missing; set EDGEGATE_FACES", video);
    }
}
