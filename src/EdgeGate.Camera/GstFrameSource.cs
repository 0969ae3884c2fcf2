using System.Diagnostics;
using EdgeGate.Camera.Interop;
using EdgeGate.Core.Capture;
using EdgeGate.Core.Ports;

namespace EdgeGate.Camera;

/// <summary>Settings for <see cref="GstFrameSource"/>.</summary>
public sealed record GstFrameSourceOptions
{
    /// <summary>
    /// How long <see cref="GstFrameSource.Start"/> waits for a file pipeline to preroll (the first frame decoded),
    /// so a missing decoder or an unreadable file fails in Start. Live sources do not preroll and never wait.
    /// A pipeline still prerolling after this is left running; the supervisor's first-frame watchdog takes over.
    /// </summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Reads BGR frames from a GStreamer pipeline's appsink named <c>sink</c> (see <see cref="CameraSourceSpec"/>).
/// One reader thread; each frame is copied out of GStreamer's buffer once, into a pooled <see cref="Core.Frames.BgrFrame"/>.
/// </summary>
public sealed class GstFrameSource : IFrameSource
{
    private readonly string _pipelineText;
    private readonly GstFrameSourceOptions _options;
    private readonly Func<string, string> _redact;
    private GstObjectHandle? _pipeline;
    private GstObjectHandle? _sink;
    private GstObjectHandle? _bus;
    private long _startTimestamp;
    private long _sequence;
    private bool _started;
    private bool _ended;
    private bool _disposed;

    public GstFrameSource(CameraSourceSpec spec, GstFrameSourceOptions? options = null)
        : this(spec.Pipeline, spec.IsLive, spec.Description, options, spec.Redact)
    {
        Spec = spec;
    }

    /// <summary>A source over pipeline text as given, unchecked (tests of the native-side checks).</summary>
    internal GstFrameSource(string pipeline, bool isLive, string description, GstFrameSourceOptions? options = null,
        Func<string, string>? redact = null)
    {
        _pipelineText = pipeline;
        IsLive = isLive;
        Description = description;
        _options = options ?? new GstFrameSourceOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.StartTimeout, TimeSpan.Zero, nameof(options));
        _redact = redact ?? (text => text);
    }

    /// <summary>A factory for <see cref="CameraSupervisor"/>: a fresh pipeline on every (re)start.</summary>
    public static FrameSourceFactory Factory(CameraSourceSpec spec, GstFrameSourceOptions? options = null) =>
        () => new GstFrameSource(spec, options);

    public CameraSourceSpec? Spec { get; }

    public string Description { get; }

    public bool IsLive { get; }

    /// <summary>Builds the pipeline and sets it PLAYING. Throws <see cref="GstException"/> with GStreamer's text, prefixed by <see cref="Description"/>.</summary>
    public unsafe void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_started) throw new InvalidOperationException("the source is already started; build a new one to restart");
        _started = true;
        try
        {
            _pipeline = GStreamer.ParseLaunch(_pipelineText);
            _sink = GStreamer.GetByName(_pipeline, CameraSourceSpec.SinkName);
            if (!GStreamer.IsAppSink(_sink))
                throw new GstException($"the element named '{CameraSourceSpec.SinkName}' is a {GStreamer.FactoryNameOf(_sink)}, not an appsink");
            _bus = GStreamer.gst_element_get_bus(_pipeline);

            // A missing file or busy device fails right here: the source cannot go READY -> PAUSED.
            var result = GStreamer.gst_element_set_state(_pipeline, GstState.Playing);
            if (result == GstStateChangeReturn.Async)
            {
                // A file prerolls: the demuxer and decoder are chosen and the first frame decoded, so a file with no
                // usable video or no decoder for it fails in Start too.
                GstState state, pending;
                result = GStreamer.gst_element_get_state(_pipeline, &state, &pending, ToNanoseconds(_options.StartTimeout));
            }
            // The element that failed may post its error from its own thread a moment after the state change
            // returns (rtspsrc does), so wait for it rather than report a failure without GStreamer's reason.
            if (result == GstStateChangeReturn.Failure)
                throw GStreamer.PopError(_bus, ToNanoseconds(_options.StartTimeout))
                    ?? new GstException("the pipeline refused to start and posted no error");
            if (GStreamer.PopError(_bus) is { } early)
                throw early;
            _startTimestamp = Stopwatch.GetTimestamp();
        }
        catch (GstException e)
        {
            Teardown();
            throw WithContext(e);
        }
        catch
        {
            Teardown();
            throw;
        }
    }

    /// <inheritdoc />
    public FrameReadStatus Read(TimeSpan timeout, out CapturedFrame? frame)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_sink is null || _bus is null) throw new InvalidOperationException("Start the source before reading");
        frame = null;
        if (_ended) return FrameReadStatus.EndOfStream;

        using var sample = GStreamer.gst_app_sink_try_pull_sample(_sink, ToNanoseconds(timeout));
        var arrived = Stopwatch.GetTimestamp();
        if (sample.IsInvalid)
        {
            if (GStreamer.gst_app_sink_is_eos(_sink) != 0)
            {
                _ended = true;
                return FrameReadStatus.EndOfStream;
            }
            if (GStreamer.PopError(_bus) is { } error)
                throw WithContext(error);
            return FrameReadStatus.Timeout;
        }

        // Checked on every frame, not only on empty reads: this also drains the bus, and an element error means
        // the pipeline is going down even if a few queued frames still come out.
        if (GStreamer.PopError(_bus) is { } late)
            throw WithContext(late);

        var (width, height, format) = GStreamer.VideoCapsOf(sample)
            ?? throw WithContext(new GstException("the appsink's sample has no width/height in its caps"));
        if (format != "BGR")
            throw WithContext(new GstException(
                $"the appsink delivers {format ?? "an unknown format"}, not BGR: end the pipeline with 'videoconvert ! video/x-raw,format=BGR ! appsink name=sink'"));

        var buffer = GStreamer.gst_sample_get_buffer(sample);
        var image = GstVideoFrames.CopyBgr(buffer, width, height);
        var pts = GStreamer.PtsOf(buffer);
        // Sources that stamp no time (rare: a raw pipeline from an appsrc, say) get the time since Start instead.
        var streamTime = pts == GStreamer.ClockTimeNone
            ? Stopwatch.GetElapsedTime(_startTimestamp, arrived)
            : TimeSpan.FromTicks((long)(pts / 100));
        frame = new CapturedFrame(image, _sequence++, streamTime, arrived);
        return FrameReadStatus.Frame;
    }

    /// <summary>Stops the pipeline and releases it. Safe to call twice, and after a failed Start.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Teardown();
    }

    private void Teardown()
    {
        // NULL first: it stops the streaming threads, which hold references to the elements released below.
        if (_pipeline is { IsInvalid: false, IsClosed: false })
            GStreamer.gst_element_set_state(_pipeline, GstState.Null);
        _bus?.Dispose();
        _sink?.Dispose();
        _pipeline?.Dispose();
        _bus = _sink = _pipeline = null;
    }

    private GstException WithContext(GstException e) =>
        new($"{Description}: {_redact(e.Message)}", e.DebugInfo is null ? null : _redact(e.DebugInfo));

    private static ulong ToNanoseconds(TimeSpan timeout) =>
        timeout < TimeSpan.Zero ? GStreamer.ClockTimeNone : (ulong)timeout.Ticks * 100;
}
