using System.Diagnostics;
using EdgeGate.Door.Gpio;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Door;

public sealed class SimulatedGpioChipTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _clock = new();
    private readonly string _stateDir = Path.Combine(Path.GetTempPath(), "edgegate-gpio-sim-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_stateDir)) Directory.Delete(_stateDir, recursive: true);
    }

    private SimulatedGpioChip NewChip(string? stateDir = null) => new(lineCount: 32, stateDirectory: stateDir, timeProvider: _clock);

    [Fact]
    public void SecondRequest_IsBusyNamingTheHolder_UntilTheFirstIsDisposed()
    {
        using var chip = NewChip();
        var relay = chip.RequestOutput(17, "edgegate-relay");

        var busy = Assert.Throws<GpioLineBusyException>(() => chip.RequestInput(17, "intruder"));
        output.WriteLine(busy.Message);
        Assert.Equal("edgegate-relay", busy.Consumer);
        Assert.Equal(17, busy.Offset);
        Assert.Equal("gpiochip0", busy.Chip);
        Assert.Equal(16, busy.Errno);
        Assert.Contains("Device or resource busy", busy.Message);

        relay.Dispose();
        using var again = chip.RequestInput(17, "next");
        Assert.Equal("next", chip.GetLineInfo(17).Consumer);
    }

    [Fact]
    public void LineInfo_DescribesTheRequest_AndFreeLines()
    {
        using var chip = NewChip();
        using var button = chip.RequestInput(5, "exit-button", activeLow: true, GpioBias.PullUp, GpioEdges.Rising, TimeSpan.FromMilliseconds(50));

        var info = chip.GetLineInfo(5);
        Assert.Equal(new GpioLineInfo(5, "GPIO5", "exit-button", true, GpioLineDirection.Input, true, GpioBias.PullUp,
            GpioEdges.Rising, TimeSpan.FromMilliseconds(50)), info);
        var free = chip.GetLineInfo(6);
        Assert.False(free.IsUsed);
        Assert.Null(free.Consumer);
        Assert.Throws<ArgumentOutOfRangeException>(() => chip.GetLineInfo(32));
    }

    [Fact]
    public void ActiveLowOutput_DrivesTheInvertedPhysicalLevel()
    {
        using var chip = NewChip();
        chip.SetBiasDefault(4, high: true); // an active-low relay board pulls its input up
        var pulledUp = Assert.Single(chip.Transitions);
        Assert.Equal((4, true, (bool?)null), (pulledUp.Offset, pulledUp.PhysicalHigh, pulledUp.Active));

        using var relay = chip.RequestOutput(4, "relay", activeLow: true, initialActive: false);
        Assert.False(relay.IsActive);
        Assert.True(chip.GetPhysicalLevel(4));
        Assert.Single(chip.Transitions); // requested inactive: the pin never moved

        relay.SetActive(true);
        Assert.True(relay.IsActive);
        Assert.False(chip.GetPhysicalLevel(4));
        Assert.Equal(2, chip.Transitions.Count);
        var energised = chip.Transitions[^1];
        Assert.Equal((4, false, (bool?)true, "relay"), (energised.Offset, energised.PhysicalHigh, energised.Active, energised.Consumer));
        Assert.Equal(_clock.GetUtcNow(), energised.Time);
    }

    [Fact]
    public void ActiveLowInput_ReadsTheInvertedLevel()
    {
        using var chip = NewChip();
        using var button = chip.RequestInput(3, "button", activeLow: true, GpioBias.PullUp);
        Assert.False(button.ReadActive()); // pulled up, not pressed

        chip.SetPhysicalLevel(3, high: false);
        Assert.True(button.ReadActive());
    }

    [Fact]
    public void ReleasedLine_FallsBackToItsBiasDefault()
    {
        using var chip = NewChip();
        var relay = chip.RequestOutput(9, "relay", initialActive: true);
        Assert.True(chip.GetPhysicalLevel(9));

        relay.Dispose();

        Assert.False(chip.GetPhysicalLevel(9)); // pull-down unless configured otherwise
        var released = chip.Transitions[^1];
        Assert.Equal((9, false, (bool?)null, (string?)null), (released.Offset, released.PhysicalHigh, released.Active, released.Consumer));
        Assert.False(chip.GetLineInfo(9).IsUsed);
        Assert.Throws<ObjectDisposedException>(() => relay.SetActive(true));

        chip.SetBiasDefault(9, high: true);
        Assert.True(chip.GetPhysicalLevel(9));
    }

    [Fact]
    public void InputPull_AppliesOnlyWhileRequested()
    {
        using var chip = NewChip();
        var contact = chip.RequestInput(2, "contact", bias: GpioBias.PullUp, edges: GpioEdges.Both);
        Assert.True(chip.GetPhysicalLevel(2));
        // The pull moving the pin at request time is a transition, not an edge the requester is told about.
        Assert.Single(chip.Transitions);
        Assert.False(contact.TryReadEdge(TimeSpan.Zero, out _));

        contact.Dispose();
        Assert.False(chip.GetPhysicalLevel(2));
    }

    [Fact]
    public void Edges_AreReportedInLogicalTerms_WithSequenceNumbers()
    {
        using var chip = NewChip();
        chip.SetPhysicalLevel(6, high: true);
        using var contact = chip.RequestInput(6, "contact", activeLow: true, edges: GpioEdges.Both);
        chip.SetPhysicalLevel(6, high: true);  // no change, no edge
        chip.SetPhysicalLevel(6, high: false); // physical falling = logical rising
        _clock.Advance(TimeSpan.FromMilliseconds(5));
        chip.SetPhysicalLevel(6, high: true);  // logical: inactive

        Assert.True(contact.TryReadEdge(Wait, out var first));
        Assert.True(contact.TryReadEdge(Wait, out var second));
        Assert.False(contact.TryReadEdge(TimeSpan.Zero, out _));

        Assert.Equal((6, GpioEdge.Rising, 1u), (first.Offset, first.Edge, first.Sequence));
        Assert.Equal((6, GpioEdge.Falling, 2u), (second.Offset, second.Edge, second.Sequence));
        Assert.Equal(TimeSpan.FromMilliseconds(5).Ticks * 100, second.TimestampNanoseconds - first.TimestampNanoseconds);
    }

    [Fact]
    public void RisingOnlyRequest_IgnoresFallingEdges()
    {
        using var chip = NewChip();
        using var button = chip.RequestInput(7, "button", edges: GpioEdges.Rising);
        chip.SetPhysicalLevel(7, true);
        chip.SetPhysicalLevel(7, false);
        chip.SetPhysicalLevel(7, true);

        Assert.True(button.TryReadEdge(Wait, out var a));
        Assert.True(button.TryReadEdge(Wait, out var b));
        Assert.False(button.TryReadEdge(TimeSpan.Zero, out _));
        Assert.Equal(GpioEdge.Rising, a.Edge);
        Assert.Equal(GpioEdge.Rising, b.Edge);
    }

    [Fact]
    public async Task TryReadEdge_WakesWhenAnotherThreadCausesAnEdge()
    {
        using var chip = NewChip();
        using var contact = chip.RequestInput(8, "contact", edges: GpioEdges.Both);
        var reader = Task.Run(() => (Got: contact.TryReadEdge(Wait, out var e), Event: e));
        await Task.Delay(50); // let the reader block first; the test passes either way
        chip.SetPhysicalLevel(8, true);

        var (got, edge) = await reader.WaitAsync(Wait);
        Assert.True(got);
        Assert.Equal(GpioEdge.Rising, edge.Edge);
    }

    [Fact]
    public void FullEventBuffer_DropsTheOldestEvents()
    {
        using var chip = NewChip();
        using var contact = chip.RequestInput(10, "contact", edges: GpioEdges.Both);
        for (var i = 0; i < 20; i++) chip.SetPhysicalLevel(10, i % 2 == 0);

        var sequences = new List<uint>();
        while (contact.TryReadEdge(TimeSpan.Zero, out var e)) sequences.Add(e.Sequence);
        Assert.Equal(Enumerable.Range(5, SimulatedGpioChip.EventBufferSize).Select(i => (uint)i), sequences);
    }

    [Fact]
    public void Debounce_SwallowsBouncesShorterThanThePeriod()
    {
        using var chip = NewChip();
        using var button = chip.RequestInput(11, "button", edges: GpioEdges.Both, debounce: TimeSpan.FromMilliseconds(50));

        // A glitch train that ends where it started: nothing is reported, however long it lasts in total.
        for (var i = 0; i < 6; i++)
        {
            chip.SetPhysicalLevel(11, i % 2 == 0);
            _clock.Advance(TimeSpan.FromMilliseconds(30));
        }
        _clock.Advance(TimeSpan.FromMilliseconds(200));

        Assert.False(button.TryReadEdge(TimeSpan.Zero, out _));
        Assert.False(button.ReadActive());
        Assert.Equal(6, chip.Transitions.Count); // the pin did move; the debouncer hid it
    }

    [Fact]
    public void Debounce_ReportsALevelOnceItHasBeenStableForThePeriod()
    {
        using var chip = NewChip();
        using var button = chip.RequestInput(12, "button", edges: GpioEdges.Both, debounce: TimeSpan.FromMilliseconds(50));

        chip.SetPhysicalLevel(12, true);
        _clock.Advance(TimeSpan.FromMilliseconds(10));
        chip.SetPhysicalLevel(12, false); // bounce
        _clock.Advance(TimeSpan.FromMilliseconds(10));
        chip.SetPhysicalLevel(12, true);  // settles high here
        _clock.Advance(TimeSpan.FromMilliseconds(49));

        Assert.False(button.TryReadEdge(TimeSpan.Zero, out _));
        Assert.False(button.ReadActive()); // the debounced level, as GET_VALUES returns for a debounced line

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(button.TryReadEdge(TimeSpan.Zero, out var pressed));
        Assert.Equal((GpioEdge.Rising, 1u), (pressed.Edge, pressed.Sequence));
        Assert.True(button.ReadActive());

        chip.SetPhysicalLevel(12, false);
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.True(button.TryReadEdge(TimeSpan.Zero, out var released));
        Assert.Equal((GpioEdge.Falling, 2u), (released.Edge, released.Sequence));
        Assert.False(button.TryReadEdge(TimeSpan.Zero, out _));
    }

    [Fact]
    public void TransitionRecorded_IsRaisedForEveryPhysicalChange()
    {
        using var chip = NewChip();
        var seen = new List<GpioTransition>();
        chip.TransitionRecorded += (_, t) => seen.Add(t);
        using var relay = chip.RequestOutput(13, "relay");
        relay.SetActive(true);
        relay.SetActive(true); // no change, no transition
        relay.SetActive(false);

        Assert.Equal([true, false], seen.Select(t => t.PhysicalHigh));
        Assert.Equal(chip.Transitions, seen);
    }

    [Fact]
    public void TwoChipsOnOneStateDirectory_ConflictLikeTwoProcesses()
    {
        using var daemon = NewChip(_stateDir);
        using var other = NewChip(_stateDir);
        var relay = daemon.RequestOutput(17, "edgegate-relay");
        relay.SetActive(true);

        var busy = Assert.Throws<GpioLineBusyException>(() => other.RequestOutput(17, "second-daemon"));
        Assert.Equal("edgegate-relay", busy.Consumer);
        var seenFromOther = other.GetLineInfo(17);
        Assert.True(seenFromOther.IsUsed);
        Assert.Equal(GpioLineDirection.Output, seenFromOther.Direction);
        Assert.Equal((true, true), SimulatedGpioChip.Probe(_stateDir, "gpiochip0", 17));

        relay.Dispose();

        Assert.Equal((false, false), SimulatedGpioChip.Probe(_stateDir, "gpiochip0", 17));
        using var taken = other.RequestOutput(17, "second-daemon");
        Assert.True(SimulatedGpioChip.Probe(_stateDir, "gpiochip0", 17).Requested);
    }

    [Fact]
    public void Probe_OfALineNeverRequested_IsReleasedAndLow()
    {
        Assert.Equal((false, false), SimulatedGpioChip.Probe(_stateDir, "gpiochip0", 3));
    }

    [Fact]
    public void Probe_OfAReleasedLine_ReportsItsBiasDefault()
    {
        using var chip = NewChip(_stateDir);
        chip.SetBiasDefault(21, high: true);
        chip.RequestOutput(21, "relay", activeLow: true, initialActive: true).Dispose();

        Assert.Equal((false, true), SimulatedGpioChip.Probe(_stateDir, "gpiochip0", 21));
    }

    [Fact]
    public void TransitionsLog_HasOneLinePerChange_InTheDocumentedFormat()
    {
        using (var chip = NewChip(_stateDir))
        {
            var relay = chip.RequestOutput(17, "edgegate relay");
            relay.SetActive(true);
            _clock.Advance(TimeSpan.FromSeconds(3));
            relay.SetActive(false);
            relay.SetActive(true);
            relay.Dispose();
        }

        var lines = File.ReadAllLines(Path.Combine(_stateDir, "gpiochip0", "transitions.log"));
        foreach (var line in lines) output.WriteLine(line);
        Assert.Equal(4, lines.Length);
        Assert.Equal($"{_clock.GetUtcNow().AddSeconds(-3):O} 17 1 1 edgegate relay", lines[0]);
        Assert.Equal($"{_clock.GetUtcNow():O} 17 0 0 edgegate relay", lines[1]);
        Assert.EndsWith(" 17 0 - -", lines[3]);
        Assert.True(DateTimeOffset.TryParse(lines[3].Split(' ')[0], out _));
    }

    [Fact]
    public void LockHeldByAnotherProcess_IsBusy_UntilThatProcessIsKilled()
    {
        using var chip = NewChip(_stateDir);
        chip.RequestOutput(18, "creates-the-files").Dispose();
        var lockPath = Path.Combine(_stateDir, "gpiochip0", "line18.lock");

        // flock(1) takes the same kind of lock (flock(2), exclusive) and, with --no-fork, becomes the waiting process
        // itself, so killing that one process is what has to release the lock.
        using var holder = Process.Start(new ProcessStartInfo("flock", ["--exclusive", "--no-fork", lockPath, "sleep", "60"])
        {
            RedirectStandardError = true,
        })!;
        try
        {
            Assert.True(SpinWait.SpinUntil(() => SimulatedGpioChip.Probe(_stateDir, "gpiochip0", 18).Requested, Wait),
                "the flock(1) process never took the lock");
            Assert.Throws<GpioLineBusyException>(() => chip.RequestOutput(18, "daemon"));
        }
        finally
        {
            holder.Kill();
            holder.WaitForExit();
        }

        // The kernel dropped the dead process's lock, as it closes a dead process's line descriptors.
        Assert.False(SimulatedGpioChip.Probe(_stateDir, "gpiochip0", 18).Requested);
        using var relay = chip.RequestOutput(18, "daemon");
    }
}
