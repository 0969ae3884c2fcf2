using System.Threading.Channels;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Capture;

/// <summary>
/// The capture stage: owns one <see cref="IFrameSource"/> at a time on a dedicated thread, publishes its frames into
/// a one-slot channel, and rebuilds the source when it stalls, fails, or (if live) ends its stream.
/// </summary>
/// <remarks>
/// Threading: the capture thread alone calls the factory and the source (Start, Read, Dispose) and the observer.
/// Consumers read <see cref="Frames"/> from any thread and dispose each frame they take. <see cref="Counters"/>,
/// <see cref="IsFrameFlowing"/>, <see cref="StopAsync"/> and <see cref="Dispose"/> may be called from any thread.
/// <para>
/// The channel holds one frame. With <see cref="FrameDelivery.NewestWins"/> a new frame replaces one the consumer has
/// not taken yet and the supervisor disposes the replaced frame, so a slow consumer always gets the newest frame and
/// never a backlog. With <see cref="FrameDelivery.Lossless"/> capture waits for the consumer instead; that wait does
/// not count against the watchdog.
/// </para>
/// </remarks>
public sealed class CameraSupervisor : IDisposable
{
    private readonly FrameSourceFactory _factory;
    private readonly CameraSupervisorOptions _options;
    private readonly ICameraObserver? _observer;
    private readonly TimeProvider _time;
    private readonly Channel<CapturedFrame> _channel;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private Thread? _thread;
    private int _disposed;

    // Guarded by _gate.
    private CameraState _state = CameraState.Idle;
    private long _delivered;
    private long _dropped;
    private long _restarts;
    private DateTimeOffset? _lastFrameAt;
    private long _lastProgressTimestamp;
    private string? _lastError;

    public CameraSupervisor(FrameSourceFactory factory, CameraSupervisorOptions? options = null,
        ICameraObserver? observer = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _factory = factory;
        _options = options ?? new CameraSupervisorOptions();
        _options.Validate();
        _observer = observer;
        _time = timeProvider ?? TimeProvider.System;
        var channelOptions = new BoundedChannelOptions(1)
        {
            FullMode = _options.Delivery == FrameDelivery.Lossless ? BoundedChannelFullMode.Wait : BoundedChannelFullMode.DropOldest,
            SingleWriter = true,
            SingleReader = false,
            // The capture thread must never run a consumer's continuation inline.
            AllowSynchronousContinuations = false,
        };
        _channel = Channel.CreateBounded<CapturedFrame>(channelOptions, OnStaleFrameDropped);
    }

    /// <summary>The frames. Completes when a file ends (without looping) or the supervisor is stopped.</summary>
    public ChannelReader<CapturedFrame> Frames => _channel.Reader;

    /// <summary>Completes when the capture thread has exited (stopped, or a file ended). Never faults.</summary>
    public Task Completion => _completion.Task;

    public CameraSupervisorOptions Options => _options;

    public CameraCounters Counters
    {
        get
        {
            lock (_gate)
                return new CameraCounters(_state, _delivered, _dropped, _restarts, _lastFrameAt, _lastError);
        }
    }

    /// <summary>
    /// True while frames are arriving: streaming, and the latest frame is younger than the watchdog timeout.
    /// The daemon feeds the systemd watchdog only while this holds, so a capture thread stuck inside a native
    /// call (which the in-process watchdog cannot interrupt) ends in a process restart.
    /// </summary>
    public bool IsFrameFlowing
    {
        get
        {
            lock (_gate)
                return _state == CameraState.Streaming && _time.GetElapsedTime(_lastProgressTimestamp) < _options.WatchdogTimeout;
        }
    }

    /// <summary>Starts the capture thread. Call once.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_stop.IsCancellationRequested)
            throw new InvalidOperationException("the camera supervisor was stopped; build a new one");
        var thread = new Thread(Run) { IsBackground = true, Name = "EdgeGate camera capture" };
        if (Interlocked.CompareExchange(ref _thread, thread, null) is not null)
            throw new InvalidOperationException("the camera supervisor is already started");
        thread.Start();
    }

    /// <summary>
    /// Stops capture: the current read (at most <see cref="CameraSupervisorOptions.ReadTimeout"/>) or back-off wait
    /// ends, the source is disposed on the capture thread, the channel completes, and frames nobody took are disposed.
    /// </summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        if (Volatile.Read(ref _thread) is null)
            _completion.TrySetResult();
        await _completion.Task.ConfigureAwait(false);
        _channel.Writer.TryComplete();
        DrainChannel();
    }

    /// <summary>
    /// Stops and waits for the capture thread. Called from the capture thread itself (an observer reacting to a
    /// state), it only requests the stop, which completes once the observer returns.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (Thread.CurrentThread == Volatile.Read(ref _thread))
        {
            _stop.Cancel();
            return;
        }
        StopAsync().GetAwaiter().GetResult();
        // _stop is not disposed: it has no timer, and a late Start or Dispose may still read it.
    }

    private void Run()
    {
        var failures = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var outcome = RunSource(ref failures);
                if (outcome is RunOutcome.Stopped or RunOutcome.Finished) break;
                if (outcome is RunOutcome.Loop) continue;

                failures++;
                lock (_gate) _restarts++;
                var delay = Backoff(failures);
                Report(CameraState.Restarting, attempt: failures, delay: delay);
                if (!Wait(delay)) break;
            }
            if (_stop.IsCancellationRequested) Report(CameraState.Stopped);
        }
        catch (Exception e)
        {
            // Only a bug in this class can get here (every source call is guarded); report it rather than
            // let an unhandled exception on a background thread take the daemon down.
            Report(CameraState.Failed, $"capture loop failed: {e}");
        }
        finally
        {
            _channel.Writer.TryComplete();
            // Stopped: frames nobody took will never be read. A file that ended keeps them for the consumer.
            if (_stop.IsCancellationRequested) DrainChannel();
            _completion.TrySetResult();
        }
    }

    /// <summary>Builds, starts and reads one source until it ends, fails or stalls; always disposes it.</summary>
    private RunOutcome RunSource(ref int failures)
    {
        Report(CameraState.Starting);
        IFrameSource? source = null;
        try
        {
            source = _factory();
            source.Start();
            var progress = _time.GetTimestamp();
            long streamingSince = 0;
            long frames = 0;
            while (!_stop.IsCancellationRequested)
            {
                switch (source.Read(_options.ReadTimeout, out var frame))
                {
                    case FrameReadStatus.Frame when frame is not null:
                        var now = _time.GetTimestamp();
                        if (frames++ == 0)
                        {
                            streamingSince = now;
                            Report(CameraState.Streaming);
                        }
                        else if (failures != 0 && _time.GetElapsedTime(streamingSince, now) >= _options.HealthyAfter)
                        {
                            failures = 0;
                        }
                        lock (_gate)
                        {
                            _lastFrameAt = _time.GetUtcNow();
                            _lastProgressTimestamp = now;
                        }
                        if (!Publish(frame)) return RunOutcome.Stopped;
                        // In lossless mode the write may have waited for the consumer; that time is not silence from the camera.
                        progress = _time.GetTimestamp();
                        lock (_gate) _lastProgressTimestamp = progress;
                        break;

                    case FrameReadStatus.EndOfStream:
                        if (source.IsLive)
                        {
                            Report(CameraState.Failed, $"live source ended its stream after {frames} frames: {source.Description}");
                            return RunOutcome.Fault;
                        }
                        Report(CameraState.EndOfStream);
                        if (_options.AtEndOfFile == EndOfFileAction.Stop) return RunOutcome.Finished;
                        if (frames > 0) return RunOutcome.Loop;
                        // Looping a file with no frames would spin; treat it as a failure so it is backed off.
                        Report(CameraState.Failed, $"file ended without a single frame: {source.Description}");
                        return RunOutcome.Fault;

                    default: // Timeout
                        var limit = frames == 0 ? _options.FirstFrameTimeout : _options.WatchdogTimeout;
                        var silence = _time.GetElapsedTime(progress);
                        if (silence >= limit)
                        {
                            var what = frames == 0 ? "no first frame" : "no frame";
                            Report(CameraState.Stalled, $"{what} for {silence.TotalSeconds:0.0} s (limit {limit.TotalSeconds:0.0} s): {source.Description}");
                            return RunOutcome.Fault;
                        }
                        break;
                }
            }
            return RunOutcome.Stopped;
        }
        catch (Exception e)
        {
            if (_stop.IsCancellationRequested && e is OperationCanceledException) return RunOutcome.Stopped;
            // A CameraException's message is the source's own text; anything else (a missing native library, a bug)
            // is named by type so the report still says what happened.
            Report(CameraState.Failed, e is CameraException ? e.Message : $"{e.GetType().Name}: {e.Message}");
            return RunOutcome.Fault;
        }
        finally
        {
            DisposeSource(source);
        }
    }

    private bool Publish(CapturedFrame frame)
    {
        var writer = _channel.Writer;
        try
        {
            // NewestWins: TryWrite always succeeds on an open channel (the older frame is dropped and disposed).
            while (!writer.TryWrite(frame))
            {
                if (!writer.WaitToWriteAsync(_stop.Token).AsTask().GetAwaiter().GetResult())
                {
                    frame.Dispose();
                    return false;
                }
            }
        }
        catch (OperationCanceledException)
        {
            frame.Dispose();
            return false;
        }
        lock (_gate) _delivered++;
        return true;
    }

    private void OnStaleFrameDropped(CapturedFrame frame)
    {
        frame.Dispose();
        lock (_gate) _dropped++;
    }

    private void DisposeSource(IFrameSource? source)
    {
        if (source is null) return;
        try
        {
            source.Dispose();
        }
        catch (Exception e)
        {
            // The next source is built regardless; keep the text for diagnosis.
            lock (_gate) _lastError = $"disposing the source failed: {e.Message}";
        }
    }

    private TimeSpan Backoff(int failures)
    {
        // 1, 2, 4, ... × InitialBackoff, capped; the shift is bounded so it cannot overflow.
        var factor = 1L << Math.Min(failures - 1, 30);
        var ticks = _options.InitialBackoff.Ticks * (double)factor;
        return ticks >= _options.MaxBackoff.Ticks ? _options.MaxBackoff : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Waits on the supervisor's clock; false when stopped meanwhile.</summary>
    private bool Wait(TimeSpan delay)
    {
        try
        {
            Task.Delay(delay, _time, _stop.Token).GetAwaiter().GetResult();
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Report(CameraState state, string? error = null, int attempt = 0, TimeSpan delay = default)
    {
        var status = new CameraStatus(state, _time.GetUtcNow(), error, attempt, delay);
        lock (_gate)
        {
            _state = state;
            if (error is not null) _lastError = error;
        }
        try
        {
            _observer?.OnStatus(status);
        }
        catch
        {
            // See ICameraObserver: a failing observer must not stop capture.
        }
    }

    private void DrainChannel()
    {
        while (_channel.Reader.TryRead(out var frame))
            frame.Dispose();
    }

    private enum RunOutcome
    {
        Stopped,
        Finished,
        Loop,
        Fault,
    }
}
