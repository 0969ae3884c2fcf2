using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using EdgeGate.Door.Interop;

namespace EdgeGate.Door.Gpio;

/// <summary>
/// A GPIO chip through the Linux character device (<c>/dev/gpiochipN</c>) and its uAPI v2 ioctls. Each requested
/// line is its own kernel file descriptor: closing it (Dispose, or the process dying) releases the line.
/// </summary>
public sealed unsafe partial class GpioCharacterDevice : GpioChip
{
    private const string DevDirectory = "/dev";

    private readonly FileDescriptorHandle _chip;

    private GpioCharacterDevice(FileDescriptorHandle chip, string path, string name, string label, int lineCount)
    {
        _chip = chip;
        DevicePath = path;
        Name = name;
        Label = label;
        LineCount = lineCount;
    }

    public string DevicePath { get; }

    public override string Name { get; }

    public override string Label { get; }

    public override int LineCount { get; }

    /// <summary>
    /// Opens a chip by device path ("/dev/gpiochip0"), by name ("gpiochip0") or by label ("pinctrl-rp1").
    /// A label is the stable choice: chip numbers differ between kernels and boards (the Pi 5 header moved
    /// from gpiochip4 to gpiochip0), labels do not.
    /// </summary>
    public static GpioCharacterDevice Open(string chip)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(chip);
        if (chip.StartsWith('/')) return OpenPath(chip);
        if (ChipName().IsMatch(chip)) return OpenPath(Path.Combine(DevDirectory, chip));

        var seen = new List<string>();
        foreach (var path in EnumerateChipPaths())
        {
            GpioCharacterDevice candidate;
            try
            {
                candidate = OpenPath(path);
            }
            catch (GpioIOException e)
            {
                // Keep looking, but say so: "not found" would mislead when the chip is there and we lack permission.
                seen.Add($"{path} ({Marshal.GetPInvokeErrorMessage(e.Errno)})");
                continue;
            }
            if (candidate.Label == chip) return candidate;
            seen.Add($"{candidate.Name} [{candidate.Label}]");
            candidate.Dispose();
        }
        throw new GpioIOException(
            $"no GPIO chip labelled '{chip}' (found: {(seen.Count == 0 ? "none" : string.Join(", ", seen))})",
            Libc.ENOENT, "find chip", chip, null);
    }

    /// <summary>The GPIO chip devices present, in numeric order.</summary>
    public static IReadOnlyList<string> EnumerateChipPaths()
    {
        if (!Directory.Exists(DevDirectory)) return [];
        return Directory.EnumerateFileSystemEntries(DevDirectory, "gpiochip*")
            .Where(p => ChipName().IsMatch(Path.GetFileName(p)))
            .OrderBy(p => int.Parse(Path.GetFileName(p).AsSpan("gpiochip".Length)))
            .ToList();
    }

    private static GpioCharacterDevice OpenPath(string path)
    {
        var fd = Libc.Open(path, Libc.ORdWr, 0, out var errno);
        if (fd.IsInvalid)
        {
            fd.Dispose();
            throw Libc.Error(errno, "open", path);
        }
        try
        {
            GpioChipInfo info;
            errno = Libc.Ioctl(fd, GpioV2.GetChipInfoIoctl, &info);
            if (errno != 0) throw Libc.Error(errno, "GPIO_GET_CHIPINFO_IOCTL", path);
            return new GpioCharacterDevice(
                fd, path, GpioV2.ReadString(info.Name, GpioV2.NameSize), GpioV2.ReadString(info.Label, GpioV2.NameSize),
                (int)info.Lines);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    protected override GpioLineInfo GetLineInfoCore(int offset)
    {
        var info = QueryLineInfo(offset);
        var flags = info.Flags;
        var debounce = TimeSpan.Zero;
        for (var i = 0; i < Math.Min((int)info.NumAttributes, GpioV2.MaxAttributes); i++)
        {
            if (info.Attributes[i].Id == GpioV2LineAttributeId.Debounce)
                debounce = TimeSpan.FromMicroseconds(info.Attributes[i].DebouncePeriodMicroseconds);
        }
        var consumer = GpioV2.ReadString(info.Consumer, GpioV2.NameSize);
        return new GpioLineInfo(
            offset,
            GpioV2.ReadString(info.Name, GpioV2.NameSize),
            consumer.Length == 0 ? null : consumer,
            flags.HasFlag(GpioV2LineFlags.Used),
            flags.HasFlag(GpioV2LineFlags.Output) ? GpioLineDirection.Output : GpioLineDirection.Input,
            flags.HasFlag(GpioV2LineFlags.ActiveLow),
            flags.HasFlag(GpioV2LineFlags.BiasPullUp) ? GpioBias.PullUp
                : flags.HasFlag(GpioV2LineFlags.BiasPullDown) ? GpioBias.PullDown
                : flags.HasFlag(GpioV2LineFlags.BiasDisabled) ? GpioBias.Disabled
                : GpioBias.None,
            (flags.HasFlag(GpioV2LineFlags.EdgeRising) ? GpioEdges.Rising : GpioEdges.None)
                | (flags.HasFlag(GpioV2LineFlags.EdgeFalling) ? GpioEdges.Falling : GpioEdges.None),
            debounce);
    }

    private GpioV2LineInfo QueryLineInfo(int offset)
    {
        // The kernel rejects a request whose padding is not zero, so start from a zeroed struct.
        var info = default(GpioV2LineInfo);
        info.Offset = (uint)offset;
        var errno = Libc.Ioctl(_chip, GpioV2.GetLineInfoIoctl, &info);
        if (errno != 0) throw Libc.Error(errno, "GPIO_V2_GET_LINEINFO_IOCTL", DevicePath, offset);
        return info;
    }

    protected override IGpioOutputLine RequestOutputCore(int offset, string consumer, bool activeLow, bool initialActive)
    {
        var request = NewRequest(offset, consumer);
        request.Config.Flags = GpioV2LineFlags.Output | (activeLow ? GpioV2LineFlags.ActiveLow : 0);
        // The initial level travels with the request, so the line goes straight from "not ours" to the level we want.
        // Without this attribute the kernel drives it inactive, which is what a relay wants anyway; it is explicit so
        // that nobody "optimises" the relay into a request followed by a set.
        AddAttribute(ref request, new GpioV2LineAttribute
        {
            Id = GpioV2LineAttributeId.OutputValues,
            Values = initialActive ? 1UL : 0UL,
        });
        return new OutputLine(this, offset, Request(ref request, offset));
    }

    protected override IGpioInputLine RequestInputCore(
        int offset, string consumer, bool activeLow, GpioBias bias, GpioEdges edges, TimeSpan debounce)
    {
        var request = NewRequest(offset, consumer);
        request.Config.Flags = GpioV2LineFlags.Input
            | (activeLow ? GpioV2LineFlags.ActiveLow : 0)
            | (edges.HasFlag(GpioEdges.Rising) ? GpioV2LineFlags.EdgeRising : 0)
            | (edges.HasFlag(GpioEdges.Falling) ? GpioV2LineFlags.EdgeFalling : 0)
            | bias switch
            {
                GpioBias.PullUp => GpioV2LineFlags.BiasPullUp,
                GpioBias.PullDown => GpioV2LineFlags.BiasPullDown,
                GpioBias.Disabled => GpioV2LineFlags.BiasDisabled,
                _ => GpioV2LineFlags.None,
            };
        if (debounce > TimeSpan.Zero)
        {
            AddAttribute(ref request, new GpioV2LineAttribute
            {
                Id = GpioV2LineAttributeId.Debounce,
                // Round up: a requested 50.4 µs must not become 50 µs of debounce.
                DebouncePeriodMicroseconds = (uint)Math.Ceiling(debounce.TotalMicroseconds),
            });
        }
        return new InputLine(this, offset, Request(ref request, offset));
    }

    private static GpioV2LineRequest NewRequest(int offset, string consumer)
    {
        var request = default(GpioV2LineRequest);
        request.Offsets[0] = (uint)offset;
        request.NumLines = 1;
        GpioV2.WriteString(request.Consumer, GpioV2.NameSize, consumer);
        return request;
    }

    private static void AddAttribute(ref GpioV2LineRequest request, GpioV2LineAttribute attribute)
    {
        // Mask bit 0: the attribute applies to the first (only) line of this request.
        request.Config.Attributes[(int)request.Config.NumAttributes] = new GpioV2LineConfigAttribute { Attribute = attribute, Mask = 1 };
        request.Config.NumAttributes++;
    }

    private FileDescriptorHandle Request(ref GpioV2LineRequest request, int offset)
    {
        int errno;
        fixed (GpioV2LineRequest* p = &request)
            errno = Libc.Ioctl(_chip, GpioV2.GetLineIoctl, p);
        if (errno == 0) return new FileDescriptorHandle(request.Fd);

        string? consumer = null;
        if (errno == Libc.EBUSY)
        {
            // Best effort: name the holder in the error, but never let that lookup hide the EBUSY itself.
            try { consumer = GetLineInfo(offset).Consumer; }
            catch (IOException) { }
        }
        throw Libc.Error(errno, "GPIO_V2_GET_LINE_IOCTL", DevicePath, offset, consumer);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _chip.Dispose();
    }

    [GeneratedRegex(@"^gpiochip\d+$")]
    private static partial Regex ChipName();

    /// <summary>The state shared by both kinds of line: the request descriptor and the values ioctls.</summary>
    private abstract class Line(GpioCharacterDevice chip, int offset, FileDescriptorHandle fd) : IDisposable
    {
        protected GpioCharacterDevice Chip { get; } = chip;

        protected FileDescriptorHandle Fd { get; } = fd;

        public int Offset { get; } = offset;

        protected bool GetValue()
        {
            ObjectDisposedException.ThrowIf(Fd.IsClosed, this);
            var values = new GpioV2LineValues { Mask = 1 };
            var errno = Libc.Ioctl(Fd, GpioV2.GetValuesIoctl, &values);
            if (errno != 0) throw Error(errno, "GPIO_V2_LINE_GET_VALUES_IOCTL");
            return (values.Bits & 1) != 0;
        }

        protected Exception Error(int errno, string operation) => Libc.Error(errno, operation, Chip.DevicePath, Offset);

        public void Dispose() => Fd.Dispose();

        public override string ToString() => $"{Chip.Name} line {Offset}";
    }

    private sealed class OutputLine(GpioCharacterDevice chip, int offset, FileDescriptorHandle fd)
        : Line(chip, offset, fd), IGpioOutputLine
    {
        public bool IsActive => GetValue();

        public void SetActive(bool active)
        {
            ObjectDisposedException.ThrowIf(Fd.IsClosed, this);
            var values = new GpioV2LineValues { Bits = active ? 1UL : 0UL, Mask = 1 };
            var errno = Libc.Ioctl(Fd, GpioV2.SetValuesIoctl, &values);
            if (errno != 0) throw Error(errno, "GPIO_V2_LINE_SET_VALUES_IOCTL");
        }
    }

    private sealed class InputLine(GpioCharacterDevice chip, int offset, FileDescriptorHandle fd)
        : Line(chip, offset, fd), IGpioInputLine
    {
        public bool ReadActive() => GetValue();

        public bool TryReadEdge(TimeSpan timeout, out GpioEdgeEvent edgeEvent)
        {
            ObjectDisposedException.ThrowIf(Fd.IsClosed, this);
            edgeEvent = default;
            var milliseconds = timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Ceiling(Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue));
            var revents = Libc.WaitReadable(Fd, milliseconds, errno => Error(errno, "poll"));
            if (revents == 0) return false;
            // The kernel reports POLLHUP|POLLERR once the chip is gone (driver unbound, USB expander unplugged).
            if ((revents & Libc.PollIn) == 0) throw Error(Libc.ENODEV, "poll");

            GpioV2LineEvent raw;
            var bytes = Libc.Read(Fd, new Span<byte>(&raw, sizeof(GpioV2LineEvent)), errno => Error(errno, "read"));
            if (bytes != sizeof(GpioV2LineEvent))
                throw new GpioIOException(
                    $"read on {Chip.DevicePath} line {Offset} returned {bytes} bytes, expected one {sizeof(GpioV2LineEvent)}-byte event",
                    0, "read", Chip.DevicePath, Offset);
            edgeEvent = new GpioEdgeEvent(
                (int)raw.Offset,
                raw.Id == GpioV2LineEventId.RisingEdge ? GpioEdge.Rising : GpioEdge.Falling,
                (long)raw.TimestampNanoseconds,
                raw.LineSeqno);
            return true;
        }
    }
}
