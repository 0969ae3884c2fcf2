namespace EdgeGate.Core.Capture;

/// <summary>Where the capture stage is in its life cycle.</summary>
public enum CameraState
{
    /// <summary>Not started yet.</summary>
    Idle,
    /// <summary>Building and starting a source.</summary>
    Starting,
    /// <summary>Frames are arriving.</summary>
    Streaming,
    /// <summary>The watchdog fired: no frame for the allowed time. A restart follows.</summary>
    Stalled,
    /// <summary>The source threw (or a live source ended its stream). <see cref="CameraStatus.Error"/> has the text; a restart follows.</summary>
    Failed,
    /// <summary>Waiting <see cref="CameraStatus.Delay"/> before rebuild number <see cref="CameraStatus.Attempt"/>.</summary>
    Restarting,
    /// <summary>A file reached its end (followed by Starting when looping; otherwise the frame channel completes).</summary>
    EndOfStream,
    /// <summary>Stopped on request.</summary>
    Stopped,
}

/// <summary>One state change, as reported to <see cref="ICameraObserver"/>.</summary>
/// <param name="State">The new state.</param>
/// <param name="At">When it happened, from the supervisor's <see cref="TimeProvider"/>.</param>
/// <param name="Error">For Failed and Stalled: what went wrong, in the source's own words.</param>
/// <param name="Attempt">For Restarting: 1 for the first rebuild after frames last flowed steadily, then 2, 3, ...</param>
/// <param name="Delay">For Restarting: the back-off before the rebuild.</param>
public sealed record CameraStatus(CameraState State, DateTimeOffset At, string? Error = null, int Attempt = 0, TimeSpan Delay = default)
{
    public override string ToString() => State switch
    {
        CameraState.Failed or CameraState.Stalled => $"{State}: {Error}",
        CameraState.Restarting => $"{State} (attempt {Attempt}, in {Delay.TotalSeconds:0.###} s)",
        _ => State.ToString(),
    };
}

/// <summary>
/// Receives the capture stage's state changes. Called on the capture thread, in order: keep it short
/// (log, update telemetry) and do not block. An exception thrown here is swallowed so that a logging fault
/// cannot stop the camera.
/// </summary>
public interface ICameraObserver
{
    void OnStatus(CameraStatus status);
}

/// <summary>A consistent snapshot of the capture stage's counters, for logs, telemetry and health checks.</summary>
/// <param name="State">Latest state.</param>
/// <param name="FramesDelivered">Frames read from the source and put into the channel.</param>
/// <param name="FramesDropped">Delivered frames a newer frame replaced before the consumer took them (disposed by the supervisor).</param>
/// <param name="Restarts">Source rebuilds after a stall or failure (file loops are not counted).</param>
/// <param name="LastFrameAt">When the latest frame was read, or null if none yet.</param>
/// <param name="LastError">The latest failure or stall text, kept after recovery.</param>
public readonly record struct CameraCounters(
    CameraState State,
    long FramesDelivered,
    long FramesDropped,
    long Restarts,
    DateTimeOffset? LastFrameAt,
    string? LastError);
