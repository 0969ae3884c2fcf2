using System.Diagnostics;
using EdgeGate.Core.Ports;
using EdgeGate.Door;
using EdgeGate.Door.Gpio;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Door;

/// <summary>
/// The door on a simulated chip wired like hardware/README.md, with a clock that moves only when the test says so.
/// Disposing the controller delivers every queued event, so assertions on the full event list come after Dispose.
/// </summary>
public sealed class DoorControllerTests(ITestOutputHelper output) : IDisposable
{
    private const int Relay = 17;
    private const int Contact = 27;
    private const int ExitButton = 22;
    private static readonly TimeSpan ContactDebounce = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan ButtonDebounce = TimeSpan.FromMilliseconds(50);

    private readonly ManualTimeProvider _clock = new();
    private readonly string _stateDir = Path.Combine(Path.GetTempPath(), "edgegate-door-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_stateDir)) Directory.Delete(_stateDir, recursive: true);
    }

    private static DoorOptions Options(Action<DoorOptions>? configure = null)
    {
        var options = new DoorOptions
        {
            Simulated = true,
            RelayLine = Relay,
            ContactLine = Contact,
            ContactDebounce = ContactDebounce,
            ExitButtonLine = ExitButton,
            ExitButtonDebounce = ButtonDebounce,
        };
        configure?.Invoke(options);
        return options;
    }

    private (DoorController Door, SimulatedGpioChip Chip, DoorEventRecorder Events) Start(Action<DoorOptions>? configure = null)
    {
        var door = DoorController.Create(Options(configure), _clock);
        return (door, (SimulatedGpioChip)door.Chip, new DoorEventRecorder(door));
    }

    private void MoveDoor(SimulatedGpioChip chip, DoorEventRecorder events, bool open, int occurrence = 1)
    {
        chip.SetPhysicalLevel(Contact, high: open); // default wiring: contact line high = door open
        _clock.Advance(ContactDebounce);
        events.WaitFor(open ? DoorEventKind.Opened : DoorEventKind.Closed, occurrence);
    }

    private IEnumerable<bool> RelayLevels(SimulatedGpioChip chip) =>
        chip.Transitions.Where(t => t.Offset == Relay).Select(t => t.PhysicalHigh);

    private void Show(DoorEventRecorder events)
    {
        foreach (var e in events.Events) output.WriteLine($"{e.Timestamp:HH:mm:ss.fff} {e.Kind} {e.Cause} {e.DurationSeconds}");
    }

    [Fact]
    public void Open_EnergisesOnce_AndReleasesWhenThePulseEnds()
    {
        var (door, chip, events) = Start();
        var before = Stopwatch.GetTimestamp();
        var drivenAt = door.Open("face:alice");

        Assert.InRange(drivenAt, before, Stopwatch.GetTimestamp());
        Assert.True(door.IsRelayEnergised);
        Assert.True(chip.GetPhysicalLevel(Relay));
        _clock.Advance(TimeSpan.FromSeconds(3) - TimeSpan.FromMilliseconds(1));
        Assert.True(door.IsRelayEnergised);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(door.IsRelayEnergised);
        Assert.False(chip.GetPhysicalLevel(Relay));
        _clock.Advance(TimeSpan.FromMinutes(1));
        door.Dispose();

        Show(events);
        Assert.Equal([DoorEventKind.RelayEnergised, DoorEventKind.RelayReleased], events.Kinds);
        Assert.Equal("face:alice", events.Events[0].Cause);
        Assert.Equal(DoorController.ReleaseCause.PulseElapsed, events.Events[1].Cause);
        Assert.Equal(3.0, events.Events[1].DurationSeconds);
        Assert.Equal(events.Events[0].Timestamp.AddSeconds(3), events.Events[1].Timestamp);
        Assert.Equal([true, false], RelayLevels(chip));
    }

    [Fact]
    public void ConfiguredPulseLength_IsUsed()
    {
        var (door, chip, events) = Start(o => o.PulseLength = TimeSpan.FromSeconds(7));
        door.Open("mqtt:unlock");
        _clock.Advance(TimeSpan.FromSeconds(6.9));
        Assert.True(door.IsRelayEnergised);
        _clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.False(door.IsRelayEnergised);
        door.Dispose();

        Assert.Equal(7.0, events.WaitFor(DoorEventKind.RelayReleased).DurationSeconds);
        Assert.Equal([true, false], RelayLevels(chip));
    }

    [Fact]
    public void OpenDuringAPulse_ExtendsIt_WithoutAnExtraRelease()
    {
        var (door, chip, events) = Start();
        door.Open("face:alice");
        _clock.Advance(TimeSpan.FromSeconds(2));
        door.Open("face:bob");
        _clock.Advance(TimeSpan.FromSeconds(2)); // 4 s after the first grant: still open for bob
        Assert.True(door.IsRelayEnergised);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(door.IsRelayEnergised);
        door.Dispose();

        Show(events);
        Assert.Equal([DoorEventKind.RelayEnergised, DoorEventKind.RelayReleased], events.Kinds);
        Assert.Equal(5.0, events.Events[1].DurationSeconds);
        Assert.Equal([true, false], RelayLevels(chip));
    }

    [Fact]
    public void Relock_ReleasesNow_AndCancelsThePulse()
    {
        var (door, chip, events) = Start();
        door.Open("face:alice");
        _clock.Advance(TimeSpan.FromSeconds(1));
        door.Relock();

        Assert.False(door.IsRelayEnergised);
        Assert.False(chip.GetPhysicalLevel(Relay));
        _clock.Advance(TimeSpan.FromSeconds(10));
        door.Relock(); // nothing to release: no event
        door.Dispose();

        Assert.Equal([DoorEventKind.RelayEnergised, DoorEventKind.RelayReleased], events.Kinds);
        Assert.Equal((DoorController.ReleaseCause.Relock, (double?)1.0), (events.Events[1].Cause, events.Events[1].DurationSeconds));
        Assert.Equal([true, false], RelayLevels(chip));
    }

    [Fact]
    public void ContactOpening_WhileLocked_IsForcedOpen()
    {
        var (door, chip, events) = Start();
        Assert.False(door.IsDoorOpen);

        MoveDoor(chip, events, open: true);
        events.WaitFor(DoorEventKind.ForcedOpen);
        Assert.True(door.IsDoorOpen);
        MoveDoor(chip, events, open: false);
        door.Dispose();

        Show(events);
        Assert.Equal([DoorEventKind.Opened, DoorEventKind.ForcedOpen, DoorEventKind.Closed], events.Kinds);
        Assert.Empty(RelayLevels(chip));
    }

    [Fact]
    public void DoorOpenedDuringAPulse_IsNotForced()
    {
        var (door, chip, events) = Start();
        door.Open("face:alice");
        MoveDoor(chip, events, open: true);
        MoveDoor(chip, events, open: false);
        door.Dispose();

        Show(events);
        Assert.Equal(
            [DoorEventKind.RelayEnergised, DoorEventKind.Opened, DoorEventKind.Closed, DoorEventKind.RelayReleased],
            events.Kinds);
        Assert.Equal(DoorController.ReleaseCause.Dispose, events.Events[^1].Cause);
    }

    [Fact]
    public void DoorOpenedJustAfterThePulse_IsNotForced_ButLaterItIs()
    {
        var (door, chip, events) = Start(o => o.RelockGrace = TimeSpan.FromSeconds(2));
        door.Open("face:alice");
        _clock.Advance(TimeSpan.FromSeconds(3));
        events.WaitFor(DoorEventKind.RelayReleased);
        _clock.Advance(TimeSpan.FromSeconds(1.9)); // + 20 ms of debounce: still inside the grace
        MoveDoor(chip, events, open: true);
        MoveDoor(chip, events, open: false);

        _clock.Advance(TimeSpan.FromSeconds(10));
        MoveDoor(chip, events, open: true, occurrence: 2);
        events.WaitFor(DoorEventKind.ForcedOpen);
        door.Dispose();

        Show(events);
        Assert.Equal(
            [DoorEventKind.RelayEnergised, DoorEventKind.RelayReleased, DoorEventKind.Opened, DoorEventKind.Closed,
             DoorEventKind.Opened, DoorEventKind.ForcedOpen],
            events.Kinds);
    }

    [Fact]
    public void HeldOpen_IsReportedOnceAfterTheLimit_ThenClosed()
    {
        var (door, chip, events) = Start(o => o.HeldOpenLimit = TimeSpan.FromSeconds(30));
        door.Open("face:alice");
        MoveDoor(chip, events, open: true);
        _clock.Advance(TimeSpan.FromSeconds(29.9));
        _clock.Advance(TimeSpan.FromSeconds(0.1));
        var heldOpen = events.WaitFor(DoorEventKind.HeldOpen);
        _clock.Advance(TimeSpan.FromMinutes(5));
        MoveDoor(chip, events, open: false);
        door.Dispose();

        Show(events);
        Assert.Equal(30.0, heldOpen.DurationSeconds); // not earlier (29.9), not later
        Assert.Equal(heldOpen.Timestamp, events.WaitFor(DoorEventKind.Opened).Timestamp.AddSeconds(30));
        Assert.Equal(
            [DoorEventKind.RelayEnergised, DoorEventKind.Opened, DoorEventKind.RelayReleased, DoorEventKind.HeldOpen, DoorEventKind.Closed],
            events.Kinds);
        Assert.Equal(330.02, events.Events[^1].DurationSeconds!.Value, precision: 9); // opened + 30 s + 5 min + closing debounce
    }

    [Fact]
    public void ExitButton_WithBounce_GivesOneEventAndOnePulse()
    {
        var (door, chip, events) = Start();

        // Active-low button: pressed pulls the line low. It chatters for 20 ms before settling.
        foreach (var high in new[] { false, true, false, true, false })
        {
            chip.SetPhysicalLevel(ExitButton, high);
            _clock.Advance(TimeSpan.FromMilliseconds(5));
        }
        _clock.Advance(ButtonDebounce);
        events.WaitFor(DoorEventKind.RelayEnergised);
        foreach (var high in new[] { true, false, true, false, true })
        {
            chip.SetPhysicalLevel(ExitButton, high);
            _clock.Advance(TimeSpan.FromMilliseconds(5));
        }
        _clock.Advance(TimeSpan.FromSeconds(3));
        events.WaitFor(DoorEventKind.RelayReleased);
        door.Dispose();

        Show(events);
        Assert.Equal([DoorEventKind.ExitButton, DoorEventKind.RelayEnergised, DoorEventKind.RelayReleased], events.Kinds);
        Assert.Equal(DoorController.ExitButtonCause, events.Events[1].Cause);
        Assert.Equal([true, false], RelayLevels(chip));
    }

    [Fact]
    public void ExitButton_ThatDoesNotOpen_OnlyReports()
    {
        var (door, chip, events) = Start(o => o.ExitButtonOpensDoor = false);
        chip.SetPhysicalLevel(ExitButton, high: false);
        _clock.Advance(ButtonDebounce);
        events.WaitFor(DoorEventKind.ExitButton);
        door.Dispose();

        Assert.Equal([DoorEventKind.ExitButton], events.Kinds);
        Assert.Empty(RelayLevels(chip));
    }

    [Fact]
    public void Dispose_WhileEnergised_LeavesTheLineInactiveAndReleased()
    {
        var options = Options(o =>
        {
            o.RelayActiveLow = true; // opto relay board: energised by a low input, pulled up on the board
            o.SimulationStateDirectory = _stateDir;
        });
        var door = DoorController.Create(options, _clock);
        var chip = (SimulatedGpioChip)door.Chip;
        var events = new DoorEventRecorder(door);
        Assert.Equal((true, true), SimulatedGpioChip.Probe(_stateDir, "gpiochip0", Relay));

        door.Open("face:alice");
        Assert.Equal((true, false), SimulatedGpioChip.Probe(_stateDir, "gpiochip0", Relay));
        door.Dispose();

        Assert.True(chip.GetPhysicalLevel(Relay)); // inactive for an active-low relay
        Assert.Equal((false, true), SimulatedGpioChip.Probe(_stateDir, "gpiochip0", Relay));
        using (var nextProcess = new SimulatedGpioChip(stateDirectory: _stateDir, timeProvider: _clock))
            nextProcess.RequestOutput(Relay, "next-daemon").Dispose();
        // The board's pull-up (set by the simulated wiring), energised (low), released (back to the pull-up).
        Assert.Equal([true, false, true], RelayLevels(chip));
        Assert.Equal([DoorEventKind.RelayEnergised, DoorEventKind.RelayReleased], events.Kinds);
        Assert.Equal(DoorController.ReleaseCause.Dispose, events.Events[1].Cause);
        Assert.Throws<ObjectDisposedException>(() => door.Open("late"));
    }

    [Fact]
    public void Dispose_ReleasesEveryLine()
    {
        using var chip = new SimulatedGpioChip(timeProvider: _clock);
        var door = new DoorController(chip, Options(), _clock);
        Assert.All(new[] { Relay, Contact, ExitButton }, line => Assert.True(chip.GetLineInfo(line).IsUsed));
        Assert.Equal("edgegate-relay", chip.GetLineInfo(Relay).Consumer);

        door.Dispose();

        Assert.All(new[] { Relay, Contact, ExitButton }, line => Assert.False(chip.GetLineInfo(line).IsUsed));
        using var next = new DoorController(chip, Options(), _clock); // the lines can be taken again
    }

    [Fact]
    public void LineAlreadyTaken_FailsConstruction_AndLeavesNothingRequested()
    {
        using var chip = new SimulatedGpioChip(timeProvider: _clock);
        using var squatter = chip.RequestInput(ExitButton, "someone-else");

        var busy = Assert.Throws<GpioLineBusyException>(() => new DoorController(chip, Options(), _clock));

        Assert.Equal("someone-else", busy.Consumer);
        Assert.False(chip.GetLineInfo(Relay).IsUsed);
        Assert.False(chip.GetLineInfo(Contact).IsUsed);
    }

    [Fact]
    public void InputThatBreaks_FaultsTheDoor_WithTheRelayInactive()
    {
        var chip = new FaultInjectingChip(new SimulatedGpioChip(timeProvider: _clock));
        var door = new DoorController(chip, Options(), _clock, ownsChip: true);
        var events = new DoorEventRecorder(door);
        door.Open("face:alice");

        chip.BreakInputs();
        events.WaitFor(DoorEventKind.RelayReleased);

        Assert.False(door.IsRelayEnergised);
        var fault = Assert.IsType<GpioIOException>(door.Fault);
        Assert.Equal(19, fault.Errno);
        Assert.Equal(DoorController.ReleaseCause.Fault, events.Events[^1].Cause);
        var refused = Assert.Throws<InvalidOperationException>(() => door.Open("face:bob"));
        Assert.Contains("faulted", refused.Message);
        door.Dispose();
    }

    [Fact]
    public void RelayThatCannotBeDrivenInactive_IsReleasedToTheKernel()
    {
        var inner = new SimulatedGpioChip(timeProvider: _clock);
        var chip = new FaultInjectingChip(inner);
        var door = new DoorController(chip, Options(o => { o.ContactLine = null; o.ExitButtonLine = null; }), _clock, ownsChip: true);
        var events = new DoorEventRecorder(door);
        door.Open("face:alice");

        chip.BreakOutputWrites();
        _clock.Advance(TimeSpan.FromSeconds(3));

        // The write failed, so the line was given up: released, it reads its pull-down, and the lock is off.
        Assert.False(inner.GetLineInfo(Relay).IsUsed);
        Assert.False(inner.GetPhysicalLevel(Relay));
        Assert.False(door.IsRelayEnergised);
        Assert.NotNull(door.Fault);
        Assert.Throws<InvalidOperationException>(() => door.Open("face:bob"));
        door.Dispose();
        Assert.Equal([DoorEventKind.RelayEnergised, DoorEventKind.RelayReleased], events.Kinds);
    }

    [Fact]
    public void OpenThatCannotDriveTheRelay_Throws_AndTheDoorStaysLocked()
    {
        var inner = new SimulatedGpioChip(timeProvider: _clock);
        var chip = new FaultInjectingChip(inner);
        using var door = new DoorController(chip, Options(o => { o.ContactLine = null; o.ExitButtonLine = null; }), _clock, ownsChip: true);

        chip.BreakOutputWrites();
        Assert.Throws<GpioIOException>(() => door.Open("face:alice"));

        Assert.False(door.IsRelayEnergised);
        Assert.False(inner.GetPhysicalLevel(Relay));
    }

    [Fact]
    public void AHandlerThatThrows_DoesNotStopLaterEvents()
    {
        var (door, _, events) = Start();
        door.DoorEventRaised += (_, e) =>
        {
            if (e.Kind == DoorEventKind.RelayEnergised) throw new InvalidOperationException("handler bug");
        };
        door.Open("face:alice");
        _clock.Advance(TimeSpan.FromSeconds(3));
        events.WaitFor(DoorEventKind.RelayReleased);
        door.Dispose();
    }

    [Fact]
    public void AHandlerMayCallBackIntoTheDoor()
    {
        var (door, chip, events) = Start();
        // e.g. an "anti-tailgating" policy: relock as soon as the door has opened.
        door.DoorEventRaised += (_, e) =>
        {
            if (e.Kind == DoorEventKind.Opened) door.Relock();
        };
        door.Open("face:alice");
        MoveDoor(chip, events, open: true);
        var released = events.WaitFor(DoorEventKind.RelayReleased);
        door.Dispose();

        Assert.Equal(DoorController.ReleaseCause.Relock, released.Cause);
    }

    [Fact]
    public void WithoutAContact_IsDoorOpenIsNull()
    {
        using var door = DoorController.Create(Options(o => { o.ContactLine = null; o.ExitButtonLine = null; }), _clock);
        Assert.Null(door.IsDoorOpen);
        Assert.Null(door.Fault);
    }

    [Fact]
    public void Validate_NamesTheConfigurationKey()
    {
        Assert.Empty(new DoorOptions { RelayLine = 17 }.Validate());

        var errors = new DoorOptions
        {
            PulseLength = TimeSpan.Zero,
            ContactLine = 5,
            ExitButtonLine = 5,
            ExitButtonDebounce = TimeSpan.FromSeconds(3),
            Consumer = new string('c', 30),
        }.Validate();
        foreach (var error in errors) output.WriteLine(error);

        Assert.Contains(errors, e => e.StartsWith("EdgeGate:Door:RelayLine is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("EdgeGate:Door:PulseLength ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("EdgeGate:Door:ExitButtonLine is the same line as EdgeGate:Door:ContactLine", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("EdgeGate:Door:ExitButtonDebounce ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("EdgeGate:Door:Consumer ", StringComparison.Ordinal));
        Assert.Equal(5, errors.Count);

        Assert.Contains("EdgeGate:Door:RelayLine", Assert.Throws<ArgumentException>(() => DoorController.Create(new DoorOptions())).Message);
        Assert.Contains("EdgeGate:Door:SimulationStateDirectory",
            Assert.Throws<ArgumentException>(() => DoorController.Create(new DoorOptions { RelayLine = 1, SimulationStateDirectory = "/tmp/x" })).Message);
    }
}
