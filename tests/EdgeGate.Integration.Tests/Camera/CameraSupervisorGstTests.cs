using EdgeGate.Camera;
using EdgeGate.Core.Capture;
using EdgeGate.Core.Ports;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Camera;

/// <summary>The supervisor over real GStreamer pipelines, on the real clock with short back-offs.</summary>
public sealed class CameraSupervisorGstTests(ITestOutputHelper output)
{
    // A hang guard while waiting for the capture thread, not a timing assertion.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task LiveSourceEndingItsStream_IsReportedAndRestarted()
    {
        var spec = CameraSourceSpec.Parse("videotestsrc is-live=true num-buffers=5 ! video/x-raw,width=64,height=48,framerate=30/1 "
            + "! videoconvert ! video/x-raw,format=BGR ! appsink name=sink max-buffers=1 drop=true sync=false");
        var built = 0;
        var observer = new Recorder(output);
        var options = new CameraSupervisorOptions
        {
            InitialBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromMilliseconds(80),
            Delivery = spec.Delivery,
        };
        using var supervisor = new CameraSupervisor(() => { built++; return new GstFrameSource(spec); }, options, observer);

        supervisor.Start();
        await observer.WaitFor(s => s.Count(x => x.State == CameraState.Streaming) >= 3);
        await supervisor.StopAsync().WaitAsync(Guard);

        var failed = observer.Of(CameraState.Failed).First();
        Assert.Contains("live source ended its stream", failed.Error);
        Assert.Contains("videotestsrc", failed.Error);
        var restarts = observer.Of(CameraState.Restarting).Take(2).ToList();
        Assert.Equal([20, 40], restarts.Select(r => r.Delay.TotalMilliseconds));
        Assert.True(built >= 3);
        Assert.True(supervisor.Counters.FramesDelivered >= 3);
        Assert.Equal(CameraState.Stopped, supervisor.Counters.State);
    }

    [Fact]
    public async Task MissingFile_IsReportedAsFailed_AndRetriedWithBackoff_WithoutCrashing()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edgegate-missing-{Guid.NewGuid():N}.mpg");
        var spec = CameraSourceSpec.Parse(path);
        var observer = new Recorder(output);
        var options = new CameraSupervisorOptions
        {
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(40),
            Delivery = spec.Delivery,
        };
        using var supervisor = new CameraSupervisor(GstFrameSource.Factory(spec), options, observer);

        supervisor.Start();
        await observer.WaitFor(s => s.Count(x => x.State == CameraState.Restarting) >= 4);
        await supervisor.StopAsync().WaitAsync(Guard);

        Assert.All(observer.Of(CameraState.Failed), f =>
        {
            Assert.Contains(path, f.Error);
            Assert.Contains("Resource not found", f.Error);
        });
        Assert.Equal([10, 20, 40, 40], observer.Of(CameraState.Restarting).Take(4).Select(r => r.Delay.TotalMilliseconds));
        Assert.Equal(0, supervisor.Counters.FramesDelivered);
        Assert.Contains("Resource not found", supervisor.Counters.LastError);
        Assert.True(supervisor.Frames.Completion.IsCompleted);
        Assert.False(supervisor.IsFrameFlowing);
    }

    [Fact]
    public async Task FastFile_EveryFrameReachesTheConsumer_ThenTheChannelCompletes()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        var spec = CameraSourceSpec.Parse(Path.Combine(faces, "video/grid_brbk7n.mpg"), new CameraSourceOptions { RealTime = false });
        Assert.Equal(FrameDelivery.Lossless, spec.Delivery);
        var observer = new Recorder(output);
        using var supervisor = new CameraSupervisor(GstFrameSource.Factory(spec),
            new CameraSupervisorOptions { Delivery = spec.Delivery }, observer);

        // Counted straight from the source, as the reference for what the supervisor must pass on.
        var direct = 0;
        using (var source = new GstFrameSource(spec))
        {
            source.Start();
            while (source.Read(TimeSpan.FromSeconds(10), out var f) == FrameReadStatus.Frame)
            {
                f!.Dispose();
                direct++;
            }
        }

        supervisor.Start();
        var sequences = new List<long>();
        using var cts = new CancellationTokenSource(Guard);
        await foreach (var frame in supervisor.Frames.ReadAllAsync(cts.Token))
        {
            using (frame)
            {
                Assert.Equal((360, 288), (frame.Image.Width, frame.Image.Height));
                sequences.Add(frame.Sequence);
            }
            if (sequences.Count % 10 == 0) await Task.Delay(5); // a consumer slower than the decoder
        }
        await supervisor.Completion.WaitAsync(Guard);

        Assert.Equal(Enumerable.Range(0, direct).Select(i => (long)i), sequences);
        Assert.Equal(0, supervisor.Counters.FramesDropped);
        Assert.Equal([CameraState.Starting, CameraState.Streaming, CameraState.EndOfStream], observer.Seen.Select(s => s.State));
    }

    private sealed class Recorder(ITestOutputHelper output) : ICameraObserver
    {
        private readonly List<CameraStatus> _seen = [];

        public IReadOnlyList<CameraStatus> Seen
        {
            get { lock (_seen) return _seen.ToArray(); }
        }

        public IEnumerable<CameraStatus> Of(CameraState state) => Seen.Where(s => s.State == state);

        public void OnStatus(CameraStatus status)
        {
            lock (_seen) _seen.Add(status);
            try { output.WriteLine(status.ToString()); } catch (InvalidOperationException) { } // after the test ended
        }

        public async Task WaitFor(Func<IReadOnlyList<CameraStatus>, bool> condition)
        {
            using var cts = new CancellationTokenSource(Guard);
            while (!condition(Seen))
            {
                if (cts.IsCancellationRequested)
                    throw new TimeoutException($"condition not met; seen: {string.Join(" | ", Seen)}");
                await Task.Delay(5);
            }
        }
    }
}
