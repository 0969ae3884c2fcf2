using EdgeGate.Door.Gpio;
using EdgeGate.Door.Interop;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Door;

/// <summary>
/// The uAPI v2 structs and ioctl numbers against interop-facts.md section 4 (computed there with a C compiler on the
/// kernel header), and the real driver's error path on this machine, which has no GPIO chip.
/// </summary>
public sealed unsafe class GpioInteropTests(ITestOutputHelper output)
{
    [Fact]
    public void StructSizes_MatchTheKernelHeader()
    {
        Assert.Equal(68, sizeof(GpioChipInfo));
        Assert.Equal(16, sizeof(GpioV2LineValues));
        Assert.Equal(16, sizeof(GpioV2LineAttribute));
        Assert.Equal(24, sizeof(GpioV2LineConfigAttribute));
        Assert.Equal(272, sizeof(GpioV2LineConfig));
        Assert.Equal(592, sizeof(GpioV2LineRequest));
        Assert.Equal(256, sizeof(GpioV2LineInfo));
        Assert.Equal(48, sizeof(GpioV2LineEvent));
    }

    [Fact]
    public void FieldOffsets_MatchTheKernelHeader()
    {
        var chip = default(GpioChipInfo);
        Assert.Equal(32, Offset(&chip, chip.Label));
        Assert.Equal(64, Offset(&chip, &chip.Lines));

        var values = default(GpioV2LineValues);
        Assert.Equal(8, Offset(&values, &values.Mask));

        var attribute = default(GpioV2LineAttribute);
        Assert.Equal(8, Offset(&attribute, &attribute.Flags));
        Assert.Equal(8, Offset(&attribute, &attribute.DebouncePeriodMicroseconds));

        var configAttribute = default(GpioV2LineConfigAttribute);
        Assert.Equal(16, Offset(&configAttribute, &configAttribute.Mask));

        var config = default(GpioV2LineConfig);
        Assert.Equal(8, Offset(&config, &config.NumAttributes));
        Assert.Equal(12, Offset(&config, config.Padding));
        Assert.Equal(32, Offset(&config, &config.Attributes));
        Assert.Equal(32 + 24, Offset(&config, &config.Attributes[1]));

        var request = default(GpioV2LineRequest);
        Assert.Equal(256, Offset(&request, request.Consumer));
        Assert.Equal(288, Offset(&request, &request.Config));
        Assert.Equal(560, Offset(&request, &request.NumLines));
        Assert.Equal(564, Offset(&request, &request.EventBufferSize));
        Assert.Equal(568, Offset(&request, request.Padding));
        Assert.Equal(588, Offset(&request, &request.Fd));

        var info = default(GpioV2LineInfo);
        Assert.Equal(32, Offset(&info, info.Consumer));
        Assert.Equal(64, Offset(&info, &info.Offset));
        Assert.Equal(68, Offset(&info, &info.NumAttributes));
        Assert.Equal(72, Offset(&info, &info.Flags));
        Assert.Equal(80, Offset(&info, &info.Attributes));
        Assert.Equal(240, Offset(&info, info.Padding));

        var lineEvent = default(GpioV2LineEvent);
        Assert.Equal(8, Offset(&lineEvent, &lineEvent.Id));
        Assert.Equal(12, Offset(&lineEvent, &lineEvent.Offset));
        Assert.Equal(16, Offset(&lineEvent, &lineEvent.Seqno));
        Assert.Equal(20, Offset(&lineEvent, &lineEvent.LineSeqno));
        Assert.Equal(24, Offset(&lineEvent, lineEvent.Padding));
    }

    [Fact]
    public void IoctlNumbers_ComputedFromTheLayouts_MatchTheTable()
    {
        Assert.Equal((nuint)0x8044B401, GpioV2.GetChipInfoIoctl);
        Assert.Equal((nuint)0xC100B405, GpioV2.GetLineInfoIoctl);
        Assert.Equal((nuint)0xC250B407, GpioV2.GetLineIoctl);
        Assert.Equal((nuint)0xC110B40D, GpioV2.SetConfigIoctl);
        Assert.Equal((nuint)0xC010B40E, GpioV2.GetValuesIoctl);
        Assert.Equal((nuint)0xC010B40F, GpioV2.SetValuesIoctl);
    }

    [Fact]
    public void LineFlagBits_MatchTheKernelHeader()
    {
        Assert.Equal(1UL << 0, (ulong)GpioV2LineFlags.Used);
        Assert.Equal(1UL << 1, (ulong)GpioV2LineFlags.ActiveLow);
        Assert.Equal(1UL << 2, (ulong)GpioV2LineFlags.Input);
        Assert.Equal(1UL << 3, (ulong)GpioV2LineFlags.Output);
        Assert.Equal(1UL << 4, (ulong)GpioV2LineFlags.EdgeRising);
        Assert.Equal(1UL << 5, (ulong)GpioV2LineFlags.EdgeFalling);
        Assert.Equal(1UL << 8, (ulong)GpioV2LineFlags.BiasPullUp);
        Assert.Equal(1UL << 9, (ulong)GpioV2LineFlags.BiasPullDown);
        Assert.Equal(1UL << 10, (ulong)GpioV2LineFlags.BiasDisabled);
        Assert.Equal(2u, (uint)GpioV2LineAttributeId.OutputValues);
        Assert.Equal(3u, (uint)GpioV2LineAttributeId.Debounce);
        Assert.Equal(1u, (uint)GpioV2LineEventId.RisingEdge);
    }

    [Fact]
    public void ConsumerLabel_IsTruncatedToLeaveTheTerminatingNul()
    {
        var request = default(GpioV2LineRequest);
        GpioV2.WriteString(request.Consumer, GpioV2.NameSize, new string('x', 40));
        Assert.Equal(0, request.Consumer[GpioV2.NameSize - 1]);
        Assert.Equal(new string('x', 31), GpioV2.ReadString(request.Consumer, GpioV2.NameSize));
    }

    [Fact]
    public void OpeningAMissingChip_ThrowsIOExceptionWithTheNativeText()
    {
        var path = "/dev/gpiochip" + (900 + Random.Shared.Next(99));
        var e = Assert.ThrowsAny<IOException>(() => GpioCharacterDevice.Open(path));
        output.WriteLine(e.Message);
        var gpio = Assert.IsType<GpioIOException>(e);
        Assert.Equal(Libc.ENOENT, gpio.Errno);
        Assert.Equal(path, gpio.Chip);
        Assert.Contains(path, e.Message);
        Assert.Contains("No such file or directory", e.Message);
    }

    [Fact]
    public void OpeningAMissingChipByName_LooksUnderDev()
    {
        var e = Assert.Throws<GpioIOException>(() => GpioCharacterDevice.Open("gpiochip987"));
        Assert.Equal("/dev/gpiochip987", e.Chip);
        Assert.Equal(Libc.ENOENT, e.Errno);
    }

    [Fact]
    public void OpeningSomethingThatIsNotAChip_ReportsTheIoctlAndENOTTY()
    {
        // /dev/null opens fine, so this goes through the real CHIPINFO ioctl and the kernel's refusal.
        var e = Assert.Throws<GpioIOException>(() => GpioCharacterDevice.Open("/dev/null"));
        output.WriteLine(e.Message);
        Assert.Equal(Libc.ENOTTY, e.Errno);
        Assert.Contains("GPIO_GET_CHIPINFO_IOCTL", e.Message);
        Assert.Contains("Inappropriate ioctl for device", e.Message);
    }

    [Fact]
    public void OpeningAnUnknownLabel_SaysWhichChipsExist()
    {
        var e = Assert.Throws<GpioIOException>(() => GpioCharacterDevice.Open("no-such-pinctrl"));
        output.WriteLine(e.Message);
        Assert.Contains("no GPIO chip labelled 'no-such-pinctrl'", e.Message);
        Assert.Contains("found:", e.Message);
    }

    private static long Offset(void* start, void* field) => (byte*)field - (byte*)start;
}
