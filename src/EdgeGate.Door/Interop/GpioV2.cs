using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace EdgeGate.Door.Interop;

// The Linux GPIO character device uAPI v2 (linux/gpio.h), as laid out in interop-facts.md section 4.
// Sequential layouts with the header's explicit padding reproduce the C offsets on every 64-bit target and on
// 32-bit ARM (where .NET, like the AAPCS, aligns 64-bit fields to 8); GpioInteropLayoutTests pins them down.

[Flags]
internal enum GpioV2LineFlags : ulong
{
    None = 0,
    Used = 1UL << 0,
    ActiveLow = 1UL << 1,
    Input = 1UL << 2,
    Output = 1UL << 3,
    EdgeRising = 1UL << 4,
    EdgeFalling = 1UL << 5,
    OpenDrain = 1UL << 6,
    OpenSource = 1UL << 7,
    BiasPullUp = 1UL << 8,
    BiasPullDown = 1UL << 9,
    BiasDisabled = 1UL << 10,
    EventClockRealtime = 1UL << 11,
    EventClockHte = 1UL << 12,
}

internal enum GpioV2LineAttributeId : uint
{
    Flags = 1,
    OutputValues = 2,
    Debounce = 3,
}

internal enum GpioV2LineEventId : uint
{
    RisingEdge = 1,
    FallingEdge = 2,
}

/// <summary>gpiochip_info (68 bytes): the answer to GPIO_GET_CHIPINFO_IOCTL.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GpioChipInfo
{
    public fixed byte Name[GpioV2.NameSize];
    public fixed byte Label[GpioV2.NameSize];
    public uint Lines;
}

/// <summary>gpio_v2_line_values (16 bytes): bit i is the i-th line of the request; mask selects the lines touched.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct GpioV2LineValues
{
    public ulong Bits;
    public ulong Mask;
}

/// <summary>gpio_v2_line_attribute (16 bytes): an id and an 8-byte union whose meaning the id selects.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct GpioV2LineAttribute
{
    [FieldOffset(0)] public GpioV2LineAttributeId Id;
    [FieldOffset(4)] public uint Padding;
    [FieldOffset(8)] public GpioV2LineFlags Flags;
    [FieldOffset(8)] public ulong Values;
    [FieldOffset(8)] public uint DebouncePeriodMicroseconds;
}

/// <summary>gpio_v2_line_config_attribute (24 bytes): an attribute and the requested lines it applies to.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct GpioV2LineConfigAttribute
{
    public GpioV2LineAttribute Attribute;
    public ulong Mask;
}

[InlineArray(GpioV2.MaxAttributes)]
internal struct GpioV2LineConfigAttributes
{
    private GpioV2LineConfigAttribute _first;
}

[InlineArray(GpioV2.MaxAttributes)]
internal struct GpioV2LineAttributes
{
    private GpioV2LineAttribute _first;
}

/// <summary>gpio_v2_line_config (272 bytes): default flags for all lines plus up to 10 per-line attributes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GpioV2LineConfig
{
    public GpioV2LineFlags Flags;
    public uint NumAttributes;
    public fixed uint Padding[5];
    public GpioV2LineConfigAttributes Attributes;
}

/// <summary>gpio_v2_line_request (592 bytes): the argument of GPIO_V2_GET_LINE_IOCTL; the kernel fills <see cref="Fd"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GpioV2LineRequest
{
    public fixed uint Offsets[GpioV2.MaxLinesPerRequest];
    public fixed byte Consumer[GpioV2.NameSize];
    public GpioV2LineConfig Config;
    public uint NumLines;
    public uint EventBufferSize;
    public fixed uint Padding[5];
    public int Fd;
}

/// <summary>gpio_v2_line_info (256 bytes): the answer to GPIO_V2_GET_LINEINFO_IOCTL for one offset.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GpioV2LineInfo
{
    public fixed byte Name[GpioV2.NameSize];
    public fixed byte Consumer[GpioV2.NameSize];
    public uint Offset;
    public uint NumAttributes;
    public GpioV2LineFlags Flags;
    public GpioV2LineAttributes Attributes;
    public fixed uint Padding[4];
}

/// <summary>gpio_v2_line_event (48 bytes), read() from a line request descriptor.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GpioV2LineEvent
{
    public ulong TimestampNanoseconds;
    public GpioV2LineEventId Id;
    public uint Offset;
    public uint Seqno;
    public uint LineSeqno;
    public fixed uint Padding[6];
}

internal static unsafe class GpioV2
{
    public const int NameSize = 32;
    public const int MaxLinesPerRequest = 64;
    public const int MaxAttributes = 10;

    private const uint Magic = 0xB4;
    private const uint DirectionWrite = 1;
    private const uint DirectionRead = 2;

    // _IOC(dir, 0xB4, nr, size) computed from the struct sizes, so a layout mistake shows up as a wrong ioctl
    // number in the layout test rather than as EINVAL/ENOTTY on a device.
    public static readonly nuint GetChipInfoIoctl = Ioc(DirectionRead, 0x01, sizeof(GpioChipInfo));
    public static readonly nuint GetLineInfoIoctl = Ioc(DirectionRead | DirectionWrite, 0x05, sizeof(GpioV2LineInfo));
    public static readonly nuint GetLineIoctl = Ioc(DirectionRead | DirectionWrite, 0x07, sizeof(GpioV2LineRequest));
    public static readonly nuint SetConfigIoctl = Ioc(DirectionRead | DirectionWrite, 0x0D, sizeof(GpioV2LineConfig));
    public static readonly nuint GetValuesIoctl = Ioc(DirectionRead | DirectionWrite, 0x0E, sizeof(GpioV2LineValues));
    public static readonly nuint SetValuesIoctl = Ioc(DirectionRead | DirectionWrite, 0x0F, sizeof(GpioV2LineValues));

    private static nuint Ioc(uint direction, uint number, int size) =>
        (nuint)(direction << 30 | (uint)size << 16 | Magic << 8 | number);

    /// <summary>A NUL-terminated (or full-width) C string from a fixed char array.</summary>
    public static string ReadString(byte* chars, int size)
    {
        var span = new ReadOnlySpan<byte>(chars, size);
        var end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    /// <summary>Writes UTF-8 into a fixed char array, always leaving room for the terminating NUL the kernel expects.</summary>
    public static void WriteString(byte* chars, int size, string value)
    {
        var span = new Span<byte>(chars, size);
        span.Clear();
        var bytes = Encoding.UTF8.GetBytes(value);
        bytes.AsSpan(0, Math.Min(bytes.Length, size - 1)).CopyTo(span);
    }
}
