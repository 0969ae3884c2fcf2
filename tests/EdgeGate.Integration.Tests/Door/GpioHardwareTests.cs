using EdgeGate.Core.Ports;
using EdgeGate.Door;
using EdgeGate.Door.Gpio;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Door;

/// <summary>
/// The kernel driver on a real chip. They run only where the environment names the hardware (see hardware/README.md):
/// EDGEGATE_GPIO_CHIP (name, path or label); EDGEGATE_GPIO_OUTPUT_LINE, a free line the tests may drive (nothing
/// dangerous attached: disconnect the lock); EDGEGATE_GPIO_INPUT_LINE, a second free line wired to the output line
/// through a ~1 kΩ resistor, for the loopback tests. Without them each test logs why and returns (xunit 2 cannot skip
/// at run time).
/// </summary>
[Trait("Category", "Hardware")]
public sealed class GpioHardwareTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);

    private string? Chip() => Require("EDGEGATE_GPIO_CHIP");

    private int? Line(string variable) => Require(variable) is { } text
        ? int.TryParse(text, out var line) ? line : throw new InvalidOperationException($"{variable}='{text}' is not a line offset")
        : null;

    private string? Require(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value)) return value;
        output.WriteLine($"SKIPPED: {variable} is not set; this test needs GPIO hardware (see hardware/README.md)");
        return null;
    }

    [Fact]
    public void Chip_IsFoundByNameAndByLabel()
    {
        if (Chip() is not { } chipName) return;
        using var chip = GpioCharacterDevice.Open(chipName);
        output.WriteLine($"{chip} at {chip.DevicePath}");
        Assert.Matches(@"^gpiochip\d+$", chip.Name);
        Assert.True(chip.LineCount > 0);
        Assert.False(string.IsNullOrEmpty(chip.Label));

        using var byLabel = GpioCharacterDevice.Open(chip.Label);
        Assert.Equal(chip.Name, byLabel.Name);
        for (var offset = 0; offset < Math.Min(chip.LineCount, 8); offset++) output.WriteLine(chip.GetLineInfo(offset).ToString());
    }

    [Fact]
    public void Output_IsExclusive_ReadsBack_AndIsReleasedOnDispose()
    {
        if (Chip() is not { } chipName || Line("EDGEGATE_GPIO_OUTPUT_LINE") is not { } offset) return;
        using var chip = GpioCharacterDevice.Open(chipName);

        using (var line = chip.RequestOutput(offset, "edgegate-hwtest", initialActive: false))
        {
            var info = chip.GetLineInfo(offset);
            Assert.Equal((true, "edgegate-hwtest", GpioLineDirection.Output), (info.IsUsed, info.Consumer, info.Direction));
            Assert.False(line.IsActive);

            var busy = Assert.Throws<GpioLineBusyException>(() => chip.RequestOutput(offset, "second"));
            output.WriteLine(busy.Message);
            Assert.Equal("edgegate-hwtest", busy.Consumer);

            line.SetActive(true);
            Assert.True(line.IsActive);
            line.SetActive(false);
            Assert.False(line.IsActive);
        }

        Assert.False(chip.GetLineInfo(offset).IsUsed);
    }

    [Fact]
    public void Loopback_EdgesAreReportedInLogicalTerms()
    {
        if (Chip() is not { } chipName
            || Line("EDGEGATE_GPIO_OUTPUT_LINE") is not { } outputLine
            || Line("EDGEGATE_GPIO_INPUT_LINE") is not { } inputLine) return;
        using var chip = GpioCharacterDevice.Open(chipName);
        using var driver = chip.RequestOutput(outputLine, "edgegate-hwtest-out");
        using var input = chip.RequestInput(inputLine, "edgegate-hwtest-in", activeLow: true, GpioBias.PullUp, GpioEdges.Both);
        Assert.True(input.ReadActive()); // output low, active-low input: active

        driver.SetActive(true);
        Assert.True(input.TryReadEdge(Wait, out var released));
        driver.SetActive(false);
        Assert.True(input.TryReadEdge(Wait, out var pressed));

        output.WriteLine($"{released} then {pressed}: {(pressed.TimestampNanoseconds - released.TimestampNanoseconds) / 1000} µs apart");
        Assert.Equal((GpioEdge.Falling, GpioEdge.Rising), (released.Edge, pressed.Edge));
        Assert.Equal(released.Sequence + 1, pressed.Sequence);
        Assert.Equal(inputLine, pressed.Offset);
        Assert.True(pressed.TimestampNanoseconds > released.TimestampNanoseconds);
        Assert.True(input.ReadActive());
    }

    [Fact]
    public void Loopback_DebounceSwallowsAShortPulse()
    {
        if (Chip() is not { } chipName
            || Line("EDGEGATE_GPIO_OUTPUT_LINE") is not { } outputLine
            || Line("EDGEGATE_GPIO_INPUT_LINE") is not { } inputLine) return;
        using var chip = GpioCharacterDevice.Open(chipName);
        using var driver = chip.RequestOutput(outputLine, "edgegate-hwtest-out");
        using var input = chip.RequestInput(inputLine, "edgegate-hwtest-in", edges: GpioEdges.Both, debounce: TimeSpan.FromMilliseconds(200));
        Assert.Equal(TimeSpan.FromMilliseconds(200), chip.GetLineInfo(inputLine).Debounce);

        driver.SetActive(true);
        driver.SetActive(false); // microseconds later: far shorter than the period
        Assert.False(input.TryReadEdge(TimeSpan.FromMilliseconds(600), out _));

        driver.SetActive(true);
        Assert.True(input.TryReadEdge(Wait, out var edge));
        Assert.Equal(GpioEdge.Rising, edge.Edge);
    }

    [Fact]
    public void Door_PulsesTheRelayLine()
    {
        if (Chip() is not { } chipName || Line("EDGEGATE_GPIO_OUTPUT_LINE") is not { } relayLine) return;
        var options = new DoorOptions { Chip = chipName, RelayLine = relayLine, PulseLength = TimeSpan.FromMilliseconds(300), Consumer = "edgegate-hwtest" };
        using var door = DoorController.Create(options);
        var events = new DoorEventRecorder(door);

        door.Open("hardware-test");
        Assert.Equal("edgegate-hwtest-relay", door.Chip.GetLineInfo(relayLine).Consumer);
        var released = events.WaitFor(DoorEventKind.RelayReleased);

        Assert.Equal(DoorController.ReleaseCause.PulseElapsed, released.Cause);
        Assert.False(door.IsRelayEnergised);
    }
}
