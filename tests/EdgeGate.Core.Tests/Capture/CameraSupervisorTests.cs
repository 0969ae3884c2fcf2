using EdgeGate.Core.Capture;
using EdgeGate.Core.Ports;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests.Capture;

public sealed class CameraSupervisorTests
{
    // A hang guard for waiting on the capture thread, not a timing assertion: every test runs on the fake clock.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private static readonly CameraSupervisorOptions Defaults = new()
    {
        WatchdogTimeout = TimeSpan.FromSeconds(5),
        FirstFrameTimeout = TimeSpan.FromSeconds(15),
        ReadTimeout = TimeSpan.FromMilliseconds(250),
    };

    private readonly ManualTimeProvider _time = new();
    private readonly Recorder _observer = new();

    // Sources that must stay quiet until the test stops the supervisor block on this (see Stop).
    private readonly ManualResetEventSlim _parked = new();

    /// <summary>A live source that starts and then blocks in Read until the test stops the supervisor.</summary>
    private ScriptedFrameSource Parked() => new(_time, [Step.Hang(_parked)], name: "parked");

    /// <summary>Requests the stop first, then lets a parked Read return, so nothing else can happen in between.</summary>
    private async Task Stop(CameraSupervisor supervisor)
    {
        var stopping = supervisor.StopAsync();
        _parked.Set();
        await stopping.WaitAsync(Guard);
    }

    [Fact]
    public async Task Stall_IsRestarted_WithDoublingBackoffCappedAt30s()
    {
        // Every source gives 3 frames, then silence forever.
        var factory = new SourceFactory(_time) { Fallback = () => new ScriptedFrameSource(_time, Step.Frames(3)) };
        using var supervisor = new CameraSupervisor(factory.Create, Defaults, _observer, _time);

        supervisor.Start();
        await _observer.WaitFor(s => s.Count(x => x.State == CameraState.Restarting) >= 8);
        await supervisor.StopAsync();

        var restarts = _observer.Of(CameraState.Restarting).Take(8).ToList();
        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], restarts.Select(r => r.Delay.TotalSeconds));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], restarts.Select(r => r.Attempt));
        Assert.Equal(restarts.Select(r => r.Delay), _time.RequestedTimers.Take(8));

        // Each restart follows a stall that waited the watchdog time (on the device's clock) since the last frame.
        var stalls = _observer.Of(CameraState.Stalled).Take(8).ToList();
        Assert.All(stalls, s => Assert.Contains("no frame for 5.", s.Error));
        var sequence = _observer.States.TakeWhile((_, i) => i < 6).ToList();
        Assert.Equal([CameraState.Starting, CameraState.Streaming, CameraState.Stalled, CameraState.Restarting,
            CameraState.Starting, CameraState.Streaming], sequence);
        Assert.All(factory.Made, s => Assert.Equal(1, s.DisposeCalls));
        Assert.True(supervisor.Counters.Restarts >= 8);
    }

    [Fact]
    public async Task Watchdog_FiresAfterWatchdogTimeout_OnTheSourcesClock()
    {
        var factory = new SourceFactory(_time).Then(Step.Frames(2));
        using var supervisor = new CameraSupervisor(factory.Create, Defaults, _observer, _time);

        supervisor.Start();
        await _observer.WaitFor(s => s.Any(x => x.State == CameraState.Stalled));
        await supervisor.StopAsync();

        var lastFrameAt = supervisor.Counters.LastFrameAt!.Value;
        var stalledAt = _observer.Of(CameraState.Stalled).First().At;
        var silence = stalledAt - lastFrameAt;
        // Reads wait 250 ms at a time, so the stall is seen within one read of the 5 s limit.
        Assert.InRange(silence, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5.25));
    }

    [Fact]
    public async Task NoFirstFrame_StallsAfterFirstFrameTimeout_NotTheWatchdog()
    {
        var factory = new SourceFactory(_time).Then([]);
        using var supervisor = new CameraSupervisor(factory.Create, Defaults, _observer, _time);

        supervisor.Start();
        await _observer.WaitFor(s => s.Any(x => x.State == CameraState.Stalled));
        await supervisor.StopAsync();

        var starting = _observer.Of(CameraState.Starting).First().At;
        var stalled = _observer.Of(CameraState.Stalled).First();
        Assert.InRange(stalled.At - starting, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15.25));
        Assert.Contains("no first frame", stalled.Error);
    }

    [Fact]
    public async Task Exceptions_AreReportedWithTheirText_AndTheSourceIsRebuilt()
    {
        var factory = new SourceFactory(_time)
            .ThenStartFails("v4l2src0: Device '/dev/video7' is busy")
            .Then([.. Step.Frames(2), Step.Error("rtspsrc0: Could not read from resource.")])
            .Then([.. Step.Frames(5), Step.Hang(_parked)]);
        using var supervisor = new CameraSupervisor(factory.Create, Defaults, _observer, _time);

        supervisor.Start();
        await _observer.WaitFor(_ => supervisor.Counters.FramesDelivered == 7);
        await Stop(supervisor);

        Assert.Equal(
        [
            "Starting", "Failed: v4l2src0: Device '/dev/video7' is busy", "Restarting (attempt 1, in 1 s)",
            "Starting", "Streaming", "Failed: rtspsrc0: Could not read from resource.", "Restarting (attempt 2, in 2 s)",
            "Starting", "Streaming", "Stopped",
        ], _observer.Texts);
        Assert.Equal("rtspsrc0: Could not read from resource.", supervisor.Counters.LastError);
        Assert.Equal(2, supervisor.Counters.Restarts);
        Assert.All(factory.Made, s => Assert.Equal(1, s.DisposeCalls));
    }

    [Fact]
    public async Task FactoryThrowingANonCameraException_IsReportedByType_AndRetried()
    {
        var calls = 0;
        using var supervisor = new CameraSupervisor(() =>
        {
            calls++;
            throw new DllNotFoundException("libgstreamer-1.0.so.0: cannot open shared object file");
        }, Defaults, _observer, _time);

        supervisor.Start();
        await _observer.WaitFor(s => s.Count(x => x.State == CameraState.Restarting) >= 3);
        await supervisor.StopAsync();

        Assert.Equal("DllNotFoundException: libgstreamer-1.0.so.0: cannot open shared object file",
            _observer.Of(CameraState.Failed).First().Error);
        Assert.True(calls >= 3);
    }

    [Fact]
    public async Task Backoff_StartsOverOnceFramesHaveFlowedForHealthyAfter()
    {
        var options = Defaults with { HealthyAfter = TimeSpan.FromSeconds(10) };
        var factory = new SourceFactory(_time)
            .ThenStartFails("gone").ThenStartFails("gone").ThenStartFails("gone")     // 1, 2, 4 s
            .Then([.. Step.Frames(200), Step.Error("lost")])                           // 8 s of frames: not healthy yet
            .Then([.. Step.Frames(300), Step.Error("lost again")]);                    // 12 s of frames: healthy
        using var supervisor = new CameraSupervisor(factory.Create, options, _observer, _time);

        supervisor.Start();
        await _observer.WaitFor(s => s.Count(x => x.State == CameraState.Restarting) >= 5);
        await supervisor.StopAsync();

        var restarts = _observer.Of(CameraState.Restarting).Take(5).ToList();
        Assert.Equal([1, 2, 4, 8, 1], restarts.Select(r => r.Delay.TotalSeconds));
        Assert.Equal([1, 2, 3, 4, 1], restarts.Select(r => r.Attempt));
    }

    [Fact]
    public async Task EndOfStream_OnALiveSource_IsAFailure_AndRestarts()
    {
        var factory = new SourceFactory(_time).Then([.. Step.Frames(3), Step.EndOfStream], isLive: true);
        using var supervisor = new CameraSupervisor(factory.Create, Defaults, _observer, _time);

        supervisor.Start();
        await _observer.WaitFor(_ => factory.Made.Count >= 2);
        await supervisor.StopAsync();

        var failed = _observer.Of(CameraState.Failed).First();
        Assert.Contains("live source ended its stream after 3 frames", failed.Error);
        Assert.DoesNotContain(CameraState.EndOfStream, _observer.States);
        Assert.Equal(1, _observer.Of(CameraState.Restarting).First().Attempt);
    }

    [Fact]
    public async Task EndOfFile_Stop_CompletesTheChannel_AfterEveryFrame()
    {
        var factory = new SourceFactory(_time).Then([.. Step.Frames(20), Step.EndOfStream], isLive: false);
        using var supervisor = new CameraSupervisor(factory.Create, Defaults with { Delivery = FrameDelivery.Lossless }, _observer, _time);

        supervisor.Start();
        var sequences = await ReadAll(supervisor);
        await supervisor.Completion.WaitAsync(Guard);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), sequences);
        Assert.Equal([CameraState.Starting, CameraState.Streaming, CameraState.EndOfStream], _observer.States);
        Assert.Equal(0, supervisor.Counters.Restarts);
        Assert.Single(factory.Made);
        Assert.Equal(1, factory.Made[0].DisposeCalls);
    }

    [Fact]
    public async Task EndOfFile_Loop_PlaysTheFileAgain_WithoutCountingRestarts()
    {
        Step[] file = [.. Step.Frames(5), Step.EndOfStream];
        var factory = new SourceFactory(_time) { Fallback = Parked }
            .Then(file, isLive: false).Then(file, isLive: false).Then(file, isLive: false);
        var options = Defaults with { Delivery = FrameDelivery.Lossless, AtEndOfFile = EndOfFileAction.Loop };
        using var supervisor = new CameraSupervisor(factory.Create, options, _observer, _time);

        supervisor.Start();
        var sequences = new List<long>();
        while (sequences.Count < 15)
        {
            using var frame = await supervisor.Frames.ReadAsync().AsTask().WaitAsync(Guard);
            sequences.Add(frame.Sequence);
        }
        await Stop(supervisor);

        Assert.Equal([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4], sequences);
        Assert.Equal(3, _observer.Of(CameraState.EndOfStream).Count());
        Assert.DoesNotContain(CameraState.Restarting, _observer.States);
        Assert.Equal(0, supervisor.Counters.Restarts);
    }

    [Fact]
    public async Task EndOfFile_Loop_OnAnEmptyFile_BacksOffInsteadOfSpinning()
    {
        var factory = new SourceFactory(_time) { Fallback = () => new ScriptedFrameSource(_time, [Step.EndOfStream], isLive: false) };
        var options = Defaults with { AtEndOfFile = EndOfFileAction.Loop };
        using var supervisor = new CameraSupervisor(factory.Create, options, _observer, _time);

        supervisor.Start();
        await _observer.WaitFor(s => s.Count(x => x.State == CameraState.Restarting) >= 3);
        await supervisor.StopAsync();

        Assert.Equal([1, 2, 4], _observer.Of(CameraState.Restarting).Take(3).Select(r => r.Delay.TotalSeconds));
        Assert.Contains("without a single frame", _observer.Of(CameraState.Failed).First().Error);
    }

    [Fact]
    public async Task NewestWins_WithNoConsumer_KeepsOnlyTheNewestFrame_AndDisposesTheRest()
    {
        var factory = new SourceFactory(_time).Then([.. Step.Frames(50), Step.EndOfStream], isLive: false);
        using var supervisor = new CameraSupervisor(factory.Create, Defaults, _observer, _time);

        supervisor.Start();
        await supervisor.Completion.WaitAsync(Guard);

        var produced = factory.AllFrames.ToList();
        Assert.Equal(50, produced.Count);
        Assert.Equal((50L, 49L), (supervisor.Counters.FramesDelivered, supervisor.Counters.FramesDropped));
        Assert.All(produced.Take(49), f => Assert.True(ScriptedFrameSource.IsDisposed(f), $"frame {f.Sequence} leaked"));
        Assert.False(ScriptedFrameSource.IsDisposed(produced[49]));

        var last = await ReadAll(supervisor);
        Assert.Equal([49L], last);
        Assert.All(produced, f => Assert.True(ScriptedFrameSource.IsDisposed(f)));
    }

    [Fact]
    public async Task NewestWins_WithAConsumer_EveryFrameIsEitherTakenOrDisposedAsStale()
    {
        var factory = new SourceFactory(_time).Then([.. Step.Frames(3000), Step.EndOfStream], isLive: false);
        using var supervisor = new CameraSupervisor(factory.Create, Defaults, _observer, _time);

        supervisor.Start();
        var taken = await ReadAll(supervisor, everyNth: 7, pause: () => Thread.Sleep(1));

        var counters = supervisor.Counters;
        Assert.Equal(3000, counters.FramesDelivered);
        Assert.Equal(counters.FramesDelivered, taken.Count + counters.FramesDropped);
        Assert.True(counters.FramesDropped > 0, "a consumer that pauses should have missed frames");
        Assert.Equal(taken.Order(), taken);
        Assert.Equal(taken.Distinct(), taken);
        Assert.Equal(2999, taken[^1]);
        Assert.All(factory.AllFrames, f => Assert.True(ScriptedFrameSource.IsDisposed(f), $"frame {f.Sequence} leaked"));
    }

    [Fact]
    public async Task Lossless_ASlowConsumerGetsEveryFrameInOrder()
    {
        var factory = new SourceFactory(_time).Then([.. Step.Frames(1000), Step.EndOfStream], isLive: false);
        using var supervisor = new CameraSupervisor(factory.Create, Defaults with { Delivery = FrameDelivery.Lossless }, _observer, _time);

        supervisor.Start();
        var taken = await ReadAll(supervisor, everyNth: 50, pause: () => Thread.Sleep(2));

        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), taken);
        Assert.Equal((1000L, 0L), (supervisor.Counters.FramesDelivered, supervisor.Counters.FramesDropped));
        Assert.All(factory.AllFrames, f => Assert.True(ScriptedFrameSource.IsDisposed(f)));
    }

    [Fact]
    public async Task Stop_DuringBackoff_ReturnsWithoutWaitingItOut()
    {
        var time = new ManualTimeProvider { AutoAdvanceTimers = false };
        var factory = new SourceFactory(time).ThenStartFails("no camera");
        var supervisor = new CameraSupervisor(factory.Create, Defaults with { InitialBackoff = TimeSpan.FromSeconds(30) }, _observer, time);

        supervisor.Start();
        await _observer.WaitFor(s => s.Any(x => x.State == CameraState.Restarting));
        await supervisor.StopAsync().WaitAsync(Guard);
        supervisor.Dispose();
        supervisor.Dispose(); // twice is fine

        Assert.Equal(CameraState.Stopped, _observer.States[^1]);
        Assert.Equal(TimeSpan.Zero, time.Elapsed); // the 30 s back-off never elapsed
        Assert.Single(factory.Made);
        Assert.Equal(1, factory.Made[0].DisposeCalls);
        Assert.True(supervisor.Frames.Completion.IsCompleted);
    }

    [Fact]
    public async Task Dispose_DisposesTheSource_AndAFrameNobodyTook()
    {
        var factory = new SourceFactory(_time).Then(Step.Frames(3));
        var supervisor = new CameraSupervisor(factory.Create, Defaults, _observer, _time);

        supervisor.Start();
        await _observer.WaitFor(_ => supervisor.Counters.FramesDelivered == 3);
        supervisor.Dispose();

        Assert.Equal(1, factory.Made[0].DisposeCalls);
        Assert.All(factory.AllFrames, f => Assert.True(ScriptedFrameSource.IsDisposed(f)));
        Assert.True(supervisor.Completion.IsCompleted);
    }

    [Fact]
    public async Task IsFrameFlowing_TurnsFalse_WhenTheCaptureThreadIsStuckInsideTheSource()
    {
        using var release = new ManualResetEventSlim();
        var factory = new SourceFactory(_time).Then([.. Step.Frames(3), Step.Hang(release)]);
        using var supervisor = new CameraSupervisor(factory.Create, Defaults, _observer, _time);
        Assert.False(supervisor.IsFrameFlowing);

        supervisor.Start();
        await _observer.WaitFor(_ => supervisor.Counters.FramesDelivered == 3);
        Assert.True(supervisor.IsFrameFlowing);

        // The in-process watchdog cannot run while Read is stuck; the health flag the daemon feeds systemd with still drops.
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(supervisor.IsFrameFlowing);
        Assert.Equal(CameraState.Streaming, supervisor.Counters.State);

        release.Set();
        await supervisor.StopAsync();
    }

    [Fact]
    public async Task AThrowingObserver_DoesNotStopCapture()
    {
        var factory = new SourceFactory(_time).Then([.. Step.Frames(10), Step.EndOfStream], isLive: false);
        var observer = new Recorder { ThrowOnEvery = true };
        using var supervisor = new CameraSupervisor(factory.Create, Defaults with { Delivery = FrameDelivery.Lossless }, observer, _time);

        supervisor.Start();
        var taken = await ReadAll(supervisor);

        Assert.Equal(10, taken.Count);
        Assert.Equal(CameraState.EndOfStream, supervisor.Counters.State);
    }

    [Fact]
    public async Task DisposingFromTheObserver_OnTheCaptureThread_DoesNotDeadlock()
    {
        var factory = new SourceFactory(_time).Then(Step.Frames(10));
        CameraSupervisor? supervisor = null;
        var observer = new Recorder { OnEach = s => { if (s.State == CameraState.Streaming) supervisor!.Dispose(); } };
        supervisor = new CameraSupervisor(factory.Create, Defaults, observer, _time);

        supervisor.Start();
        await supervisor.Completion.WaitAsync(Guard);

        Assert.Equal(CameraState.Stopped, observer.States[^1]);
        Assert.Equal(1, factory.Made[0].DisposeCalls);
        Assert.All(factory.AllFrames, f => Assert.True(ScriptedFrameSource.IsDisposed(f)));
        supervisor.Dispose();
    }

    [Fact]
    public void Start_Twice_Throws_AndBadOptionsAreRefused()
    {
        using var supervisor = new CameraSupervisor(new SourceFactory(_time).Create, Defaults, null, _time);
        supervisor.Start();
        Assert.Throws<InvalidOperationException>(supervisor.Start);

        Assert.Throws<ArgumentOutOfRangeException>(() => new CameraSupervisor(() => null!, Defaults with { WatchdogTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CameraSupervisor(() => null!,
            Defaults with { InitialBackoff = TimeSpan.FromSeconds(10), MaxBackoff = TimeSpan.FromSeconds(5) }));
    }

    private static async Task<List<long>> ReadAll(CameraSupervisor supervisor, int everyNth = 0, Action? pause = null)
    {
        var sequences = new List<long>();
        using var cts = new CancellationTokenSource(Guard);
        await foreach (var frame in supervisor.Frames.ReadAllAsync().WithCancellation(cts.Token))
        {
            using (frame)
                sequences.Add(frame.Sequence);
            if (everyNth > 0 && sequences.Count % everyNth == 0) pause?.Invoke();
        }
        return sequences;
    }

    private sealed class Recorder : ICameraObserver
    {
        private readonly List<CameraStatus> _seen = [];

        public bool ThrowOnEvery { get; init; }

        public Action<CameraStatus>? OnEach { get; init; }

        public IReadOnlyList<CameraStatus> Seen
        {
            get { lock (_seen) return _seen.ToArray(); }
        }

        public IReadOnlyList<CameraState> States => Seen.Select(s => s.State).ToList();

        public IEnumerable<string> Texts => Seen.Select(s => s.ToString());

        public IEnumerable<CameraStatus> Of(CameraState state) => Seen.Where(s => s.State == state);

        public void OnStatus(CameraStatus status)
        {
            lock (_seen) _seen.Add(status);
            OnEach?.Invoke(status);
            if (ThrowOnEvery) throw new InvalidOperationException("observer fault");
        }

        public async Task WaitFor(Func<IReadOnlyList<CameraStatus>, bool> condition)
        {
            using var cts = new CancellationTokenSource(Guard);
            while (!condition(Seen))
            {
                if (cts.IsCancellationRequested)
                    throw new TimeoutException($"condition not met; seen: {string.Join(" | ", Texts)}");
                await Task.Delay(2);
            }
        }
    }
}
