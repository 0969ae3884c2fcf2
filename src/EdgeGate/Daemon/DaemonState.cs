using System.Diagnostics;

namespace EdgeGate.Daemon;

/// <summary>
/// Live figures shared by the services: written by the camera and pipeline threads, read by health/telemetry.
/// Lock-free counters plus one small lock for the latency window.
/// </summary>
public sealed class DaemonState
{
    private readonly Lock _gate = new();
    private readonly Queue<double> _decisionLatencies = new();
    private readonly Queue<double> _frameMs = new();
    private const int Window = 256;
    private long _lastFrameTimestamp;
    private long _frames;
    private long _framesWithFaces;

    public long StartedTimestamp { get; } = Stopwatch.GetTimestamp();
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public volatile bool ModelsReady;
    public volatile bool DoorReady;
    public volatile string CameraState = "starting";

    /// <summary>The camera as it may be shown (passwords in RTSP URLs masked).</summary>
    public volatile string CameraDescription = "";
    public volatile string? CameraError;
    public volatile bool MqttConnected;
    public long CameraRestarts;
    public long FramesDropped;
    public long Decisions;
    public long Granted;
    public int GallerySize;
    public volatile string? LastDecision;
    public volatile string? LastPerson;

    /// <summary>Set when a service failed so badly the daemon must exit non-zero.</summary>
    public volatile string? FatalError;

    /// <summary>The fatal error is one of configuration (e.g. a missing template key): exit 2, systemd does not restart.</summary>
    public volatile bool FatalIsConfiguration;

    public long Frames => Interlocked.Read(ref _frames);
    public long FramesWithFaces => Interlocked.Read(ref _framesWithFaces);

    /// <summary>Time since the last frame reached the pipeline; null before the first frame.</summary>
    public TimeSpan? SinceLastFrame
    {
        get
        {
            var last = Interlocked.Read(ref _lastFrameTimestamp);
            return last == 0 ? null : Stopwatch.GetElapsedTime(last);
        }
    }

    public TimeSpan Uptime => Stopwatch.GetElapsedTime(StartedTimestamp);

    public void FrameProcessed(int faces, double processingMs)
    {
        Interlocked.Exchange(ref _lastFrameTimestamp, Stopwatch.GetTimestamp());
        Interlocked.Increment(ref _frames);
        if (faces > 0) Interlocked.Increment(ref _framesWithFaces);
        lock (_gate) Push(_frameMs, processingMs);
    }

    public void DecisionMade(double latencyMs, bool granted)
    {
        Interlocked.Increment(ref Decisions);
        if (granted) Interlocked.Increment(ref Granted);
        lock (_gate) Push(_decisionLatencies, latencyMs);
    }

    /// <summary>p50/p95 of the last decisions' latency and of per-frame processing time (NaN when empty).</summary>
    public (double LatencyP50, double LatencyP95, double FrameP50, double FrameP95) Percentiles()
    {
        double[] lat, fr;
        lock (_gate) { lat = [.. _decisionLatencies]; fr = [.. _frameMs]; }
        return (Percentile(lat, 0.5), Percentile(lat, 0.95), Percentile(fr, 0.5), Percentile(fr, 0.95));
    }

    public static double Percentile(double[] values, double q)
    {
        if (values.Length == 0) return double.NaN;
        Array.Sort(values);
        // Nearest-rank: the smallest value with at least q of the samples at or below it.
        var rank = (int)Math.Ceiling(q * values.Length);
        return values[Math.Clamp(rank - 1, 0, values.Length - 1)];
    }

    private static void Push(Queue<double> q, double v)
    {
        q.Enqueue(v);
        if (q.Count > Window) q.Dequeue();
    }
}
