using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Tests.Fakes;

/// <summary>One thing a <see cref="ScriptedFrameSource"/> does on a Read (or on Start).</summary>
public abstract record Step
{
    /// <summary>A frame, 40 ms of device time after the previous read.</summary>
    public static Step Frame { get; } = new FrameStep();

    /// <summary>Nothing within the read's timeout: the clock moves by the whole timeout, as a real device's wait would.</summary>
    public static Step Silence { get; } = new SilenceStep();

    public static Step EndOfStream { get; } = new EndStep();

    /// <summary>The pipeline reported an error (a bus ERROR message).</summary>
    public static Step Error(string message) => new ErrorStep(message);

    /// <summary>Read blocks (without the clock moving) until <paramref name="release"/> is set: a call stuck in native code.</summary>
    public static Step Hang(ManualResetEventSlim release) => new HangStep(release);

    public static IEnumerable<Step> Frames(int count) => Enumerable.Repeat(Frame, count);

    public sealed record FrameStep : Step;
    public sealed record SilenceStep : Step;
    public sealed record EndStep : Step;
    public sealed record ErrorStep(string Message) : Step;
    public sealed record HangStep(ManualResetEventSlim Release) : Step;
}

/// <summary>
/// An <see cref="IFrameSource"/> that behaves like a real device on a <see cref="ManualTimeProvider"/>: frames take
/// device time, an empty read takes its full timeout, errors surface as <see cref="CameraException"/>s, end of
/// stream is sticky. After its script it goes silent (a stalled camera). Records every frame it hands out.
/// </summary>
public sealed class ScriptedFrameSource(
    ManualTimeProvider time, IEnumerable<Step> script, bool isLive = true, string? startError = null, string name = "fake") : IFrameSource
{
    public static readonly TimeSpan FrameInterval = TimeSpan.FromMilliseconds(40);

    private readonly Queue<Step> _script = new(script);
    private readonly List<CapturedFrame> _frames = [];
    private long _sequence;
    private bool _ended;

    public string Description => name;
    public bool IsLive { get; } = isLive;
    public int StartCalls { get; private set; }
    public int DisposeCalls { get; private set; }
    public IReadOnlyList<CapturedFrame> Produced => _frames;

    public void Start()
    {
        StartCalls++;
        ObjectDisposedException.ThrowIf(DisposeCalls > 0, this);
        if (startError is not null)
            throw new CameraException(startError);
    }

    public FrameReadStatus Read(TimeSpan timeout, out CapturedFrame? frame)
    {
        ObjectDisposedException.ThrowIf(DisposeCalls > 0, this);
        if (StartCalls == 0) throw new InvalidOperationException("Read before Start");
        frame = null;
        if (_ended) return FrameReadStatus.EndOfStream;
        var step = _script.Count > 0 ? _script.Dequeue() : Step.Silence;
        switch (step)
        {
            case Step.FrameStep:
                time.Advance(FrameInterval);
                var image = new BgrFrame(4, 2);
                image.Pixels.Fill((byte)_sequence);
                frame = new CapturedFrame(image, _sequence, FrameInterval * _sequence, time.GetTimestamp());
                _sequence++;
                lock (_frames) _frames.Add(frame);
                return FrameReadStatus.Frame;
            case Step.EndStep:
                _ended = true;
                return FrameReadStatus.EndOfStream;
            case Step.ErrorStep e:
                throw new CameraException(e.Message);
            case Step.HangStep h:
                // Bounded so that a failing test still ends: its supervisor's Dispose waits for this Read.
                h.Release.Wait(TimeSpan.FromSeconds(30));
                return FrameReadStatus.Timeout;
            default:
                time.Advance(timeout);
                return FrameReadStatus.Timeout;
        }
    }

    public void Dispose() => DisposeCalls++;

    public static bool IsDisposed(CapturedFrame frame)
    {
        try
        {
            _ = frame.Image.Pixels;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }
}

/// <summary>Hands out scripted sources in order (then <see cref="Fallback"/>), keeping every one it made.</summary>
public sealed class SourceFactory(ManualTimeProvider time)
{
    private readonly Queue<Func<ScriptedFrameSource>> _next = new();
    private readonly List<ScriptedFrameSource> _made = [];

    /// <summary>What to make once the queue is empty; by default a live camera that starts and stays silent.</summary>
    public Func<ScriptedFrameSource>? Fallback { get; set; }

    public SourceFactory Then(IEnumerable<Step> script, bool isLive = true) =>
        Enqueue(() => new ScriptedFrameSource(time, script, isLive, name: $"source #{_made.Count + 1}"));

    public SourceFactory ThenStartFails(string error) =>
        Enqueue(() => new ScriptedFrameSource(time, [], startError: error, name: $"source #{_made.Count + 1}"));

    public SourceFactory Enqueue(Func<ScriptedFrameSource> make)
    {
        lock (_next) _next.Enqueue(make);
        return this;
    }

    public IReadOnlyList<ScriptedFrameSource> Made
    {
        get { lock (_next) return _made.ToArray(); }
    }

    public IEnumerable<CapturedFrame> AllFrames => Made.SelectMany(s => s.Produced);

    public IFrameSource Create()
    {
        lock (_next)
        {
            var make = _next.Count > 0 ? _next.Dequeue() : Fallback ?? (() => new ScriptedFrameSource(time, [], name: "silent"));
            var source = make();
            _made.Add(source);
            return source;
        }
    }
}
