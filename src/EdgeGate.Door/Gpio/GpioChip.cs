using System.Text;

namespace EdgeGate.Door.Gpio;

/// <summary>
/// One GPIO chip: the kernel's character device (<see cref="GpioCharacterDevice"/>) or a simulation
/// (<see cref="SimulatedGpioChip"/>). A requested line belongs to whoever requested it until its handle is
/// disposed; a second request fails with <see cref="GpioLineBusyException"/>. As with the kernel, lines already
/// requested stay valid after the chip itself is disposed.
/// </summary>
public abstract class GpioChip : IDisposable
{
    /// <summary>The kernel's consumer field holds 31 bytes plus NUL; longer labels would be cut silently.</summary>
    public const int MaxConsumerBytes = 31;

    /// <summary>debounce_period_us is a u32 of microseconds.</summary>
    public static readonly TimeSpan MaxDebounce = TimeSpan.FromMicroseconds(uint.MaxValue);

    private bool _disposed;

    /// <summary>The chip's name, e.g. "gpiochip0".</summary>
    public abstract string Name { get; }

    /// <summary>The driver's label, e.g. "pinctrl-rp1" on a Raspberry Pi 5.</summary>
    public abstract string Label { get; }

    public abstract int LineCount { get; }

    public GpioLineInfo GetLineInfo(int offset)
    {
        ThrowIfDisposed();
        CheckOffset(offset);
        return GetLineInfoCore(offset);
    }

    /// <summary>
    /// Requests an output line. The line is driven to <paramref name="initialActive"/> as part of the request itself,
    /// so it never shows any other level, not even for a moment.
    /// </summary>
    public IGpioOutputLine RequestOutput(int offset, string consumer, bool activeLow = false, bool initialActive = false)
    {
        ThrowIfDisposed();
        CheckOffset(offset);
        CheckConsumer(consumer);
        return RequestOutputCore(offset, consumer, activeLow, initialActive);
    }

    /// <summary>
    /// Requests an input line, with edge events for <paramref name="edges"/>. With a non-zero
    /// <paramref name="debounce"/> a new level is reported (as an event and by ReadActive) only once it has been
    /// stable for that long; shorter pulses are swallowed.
    /// </summary>
    public IGpioInputLine RequestInput(
        int offset,
        string consumer,
        bool activeLow = false,
        GpioBias bias = GpioBias.None,
        GpioEdges edges = GpioEdges.None,
        TimeSpan debounce = default)
    {
        ThrowIfDisposed();
        CheckOffset(offset);
        CheckConsumer(consumer);
        if (!Enum.IsDefined(bias)) throw new ArgumentOutOfRangeException(nameof(bias), bias, "unknown bias");
        if ((edges & ~GpioEdges.Both) != 0) throw new ArgumentOutOfRangeException(nameof(edges), edges, "unknown edges");
        if (debounce < TimeSpan.Zero || debounce > MaxDebounce)
            throw new ArgumentOutOfRangeException(nameof(debounce), debounce, $"debounce must be between 0 and {MaxDebounce}");
        return RequestInputCore(offset, consumer, activeLow, bias, edges, debounce);
    }

    protected abstract GpioLineInfo GetLineInfoCore(int offset);

    protected abstract IGpioOutputLine RequestOutputCore(int offset, string consumer, bool activeLow, bool initialActive);

    protected abstract IGpioInputLine RequestInputCore(
        int offset, string consumer, bool activeLow, GpioBias bias, GpioEdges edges, TimeSpan debounce);

    public override string ToString() => $"{Name} [{Label}] ({LineCount} lines)";

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void CheckOffset(int offset)
    {
        if ((uint)offset >= (uint)LineCount)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{Name} has lines 0..{LineCount - 1}");
    }

    private static void CheckConsumer(string consumer)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        if (Encoding.UTF8.GetByteCount(consumer) > MaxConsumerBytes)
            throw new ArgumentException($"consumer '{consumer}' is longer than {MaxConsumerBytes} bytes", nameof(consumer));
    }
}
