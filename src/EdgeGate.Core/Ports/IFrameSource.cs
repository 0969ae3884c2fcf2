using EdgeGate.Core.Frames;

namespace EdgeGate.Core.Ports;

/// <summary>
/// One camera frame. Ownership: whoever holds the <see cref="CapturedFrame"/> owns <see cref="Image"/> (pooled pixels)
/// and must dispose it exactly once; a frame that is dropped (stale) is disposed by whoever drops it.
/// </summary>
public sealed class CapturedFrame(BgrFrame image, long sequence, TimeSpan streamTime, long arrivedTimestamp) : IDisposable
{
    public BgrFrame Image { get; } = image;

    /// <summary>0, 1, 2, ... per source start, counting frames handed out (dropped ones inside the pipeline are not counted).</summary>
    public long Sequence { get; } = sequence;

    /// <summary>
    /// Media time of the frame, monotonic within one source run: the buffer PTS for files (so a file replayed fast
    /// still has real durations between frames), the pipeline running time for live cameras.
    /// </summary>
    public TimeSpan StreamTime { get; } = streamTime;

    /// <summary><see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> when the frame left the appsink: the start of latency.</summary>
    public long ArrivedTimestamp { get; } = arrivedTimestamp;

    public void Dispose() => Image.Dispose();
}

public enum FrameReadStatus
{
    Frame,
    Timeout,
    EndOfStream,
}

/// <summary>
/// A running source of BGR frames (a GStreamer pipeline on a device). Not thread-safe: one reader thread.
/// Failures are <see cref="CameraException"/>s carrying the source's own error text.
/// </summary>
public interface IFrameSource : IDisposable
{
    /// <summary>What is being read, for logs and status (e.g. the preset and the full pipeline string).</summary>
    string Description { get; }

    /// <summary>True for cameras and network streams (newest frame wins); false for files.</summary>
    bool IsLive { get; }

    /// <summary>Builds and starts the pipeline. Throws <see cref="CameraException"/> (missing file, unknown element, device busy...).</summary>
    void Start();

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the next frame. Throws <see cref="CameraException"/> when the pipeline
    /// reported an error. After <see cref="FrameReadStatus.EndOfStream"/> the source must be disposed (or restarted by a new instance).
    /// </summary>
    FrameReadStatus Read(TimeSpan timeout, out CapturedFrame? frame);
}

/// <summary>Builds a fresh <see cref="IFrameSource"/>; the supervisor calls it again each time it rebuilds the pipeline.</summary>
public delegate IFrameSource FrameSourceFactory();

public class CameraException(string message, Exception? inner = null) : Exception(message, inner);
