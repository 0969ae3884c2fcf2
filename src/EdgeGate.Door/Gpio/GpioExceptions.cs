namespace EdgeGate.Door.Gpio;

/// <summary>A GPIO operation the kernel (or the simulator, with the kernel's errno) refused.</summary>
public class GpioIOException : IOException
{
    public GpioIOException(string message, int errno, string operation, string chip, int? offset)
        : base(message)
    {
        Errno = errno;
        Operation = operation;
        Chip = chip;
        Offset = offset;
    }

    /// <summary>The Linux errno, e.g. 16 (EBUSY), 2 (ENOENT), 25 (ENOTTY: not a GPIO chip).</summary>
    public int Errno { get; }

    public string Operation { get; }

    /// <summary>The chip as it was addressed: a device path or the chip name.</summary>
    public string Chip { get; }

    public int? Offset { get; }
}

/// <summary>The line is already requested, by this process or another (EBUSY); <see cref="Consumer"/> says by whom.</summary>
public sealed class GpioLineBusyException(string chip, int offset, string? consumer, string operation, string nativeText)
    : GpioIOException(
        $"{operation} on {chip} line {offset} failed: {nativeText} (errno 16); the line is held by '{consumer ?? "unknown consumer"}'",
        16, operation, chip, offset)
{
    public string? Consumer { get; } = consumer;
}
