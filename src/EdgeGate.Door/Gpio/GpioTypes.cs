namespace EdgeGate.Door.Gpio;

public enum GpioLineDirection
{
    Input,
    Output,
}

/// <summary>Pull resistor for an input. <see cref="None"/> leaves whatever the board or firmware configured.</summary>
public enum GpioBias
{
    None,
    PullUp,
    PullDown,
    Disabled,
}

/// <summary>Which edges of the logical level produce events (with active-low, "rising" is the physical falling edge).</summary>
[Flags]
public enum GpioEdges
{
    None = 0,
    Rising = 1,
    Falling = 2,
    Both = Rising | Falling,
}

/// <summary>One edge, in logical terms: <see cref="Rising"/> means the line became active.</summary>
public enum GpioEdge
{
    Rising,
    Falling,
}

/// <summary>
/// An edge reported by the chip. <paramref name="TimestampNanoseconds"/> is on the chip's monotonic clock
/// (CLOCK_MONOTONIC for the kernel, the TimeProvider's timestamp for the simulator); compare timestamps of one chip
/// only. <paramref name="Sequence"/> counts events of this request from 1, so a gap means the event buffer overflowed
/// and older events were dropped.
/// </summary>
public readonly record struct GpioEdgeEvent(int Offset, GpioEdge Edge, long TimestampNanoseconds, uint Sequence)
{
    public bool BecameActive => Edge == GpioEdge.Rising;
}

/// <summary>What the chip says about a line, requested or not (like <c>gpioinfo</c>).</summary>
public sealed record GpioLineInfo(
    int Offset,
    string Name,
    string? Consumer,
    bool IsUsed,
    GpioLineDirection Direction,
    bool ActiveLow,
    GpioBias Bias,
    GpioEdges Edges,
    TimeSpan Debounce);

/// <summary>A requested output line. Disposing it releases the line.</summary>
public interface IGpioOutputLine : IDisposable
{
    int Offset { get; }

    /// <summary>The logical level the line is driving, read back from the chip.</summary>
    bool IsActive { get; }

    void SetActive(bool active);
}

/// <summary>A requested input line. Disposing it releases the line and discards unread edge events.</summary>
public interface IGpioInputLine : IDisposable
{
    int Offset { get; }

    /// <summary>The logical level now (the debounced level when a debounce period was requested).</summary>
    bool ReadActive();

    /// <summary>
    /// Takes the oldest pending edge event, waiting up to <paramref name="timeout"/> (real time, like poll(2);
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits forever, zero only looks). Returns false on timeout.
    /// One thread at a time should read events from a line.
    /// </summary>
    bool TryReadEdge(TimeSpan timeout, out GpioEdgeEvent edgeEvent);
}
