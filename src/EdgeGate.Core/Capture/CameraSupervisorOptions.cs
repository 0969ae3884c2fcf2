namespace EdgeGate.Core.Capture;

/// <summary>What to do when a file source reaches its end.</summary>
public enum EndOfFileAction
{
    /// <summary>Report EndOfStream and complete the frame channel.</summary>
    Stop,
    /// <summary>Report EndOfStream and play the file again (a stand-in camera for demos and soak tests).</summary>
    Loop,
}

/// <summary>Settings for <see cref="CameraSupervisor"/>.</summary>
public sealed record CameraSupervisorOptions
{
    /// <summary>Once frames have flowed, a gap this long with no frame means the camera is stuck: rebuild it.</summary>
    public TimeSpan WatchdogTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Time allowed from a successful start to the first frame. Longer than the watchdog because an RTSP camera
    /// or a USB camera's auto-exposure can take seconds before the first frame.
    /// </summary>
    public TimeSpan FirstFrameTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The first back-off; each further consecutive failure doubles it.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the back-off.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a source must stream before the back-off starts again from <see cref="InitialBackoff"/>. A camera
    /// that gives one frame and dies is still backed off; one that ran for a while is retried quickly.
    /// </summary>
    public TimeSpan HealthyAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The wait passed to each <c>IFrameSource.Read</c>: the granularity of the watchdog and of stopping, not a
    /// frame deadline.
    /// </summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>NewestWins for cameras and real-time files; Lossless for files read in fast mode (see <see cref="CameraSourceSpec.Delivery"/>).</summary>
    public FrameDelivery Delivery { get; init; } = FrameDelivery.NewestWins;

    /// <summary>For sources that are not live: stop or loop at the end of the file.</summary>
    public EndOfFileAction AtEndOfFile { get; init; } = EndOfFileAction.Stop;

    internal void Validate()
    {
        Positive(WatchdogTimeout, nameof(WatchdogTimeout));
        Positive(FirstFrameTimeout, nameof(FirstFrameTimeout));
        Positive(InitialBackoff, nameof(InitialBackoff));
        Positive(ReadTimeout, nameof(ReadTimeout));
        if (MaxBackoff < InitialBackoff)
            throw new ArgumentOutOfRangeException(nameof(MaxBackoff), MaxBackoff, $"must be at least {nameof(InitialBackoff)} ({InitialBackoff})");
        if (HealthyAfter < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(HealthyAfter), HealthyAfter, "must not be negative");
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(name, value, "must be positive");
    }
}
