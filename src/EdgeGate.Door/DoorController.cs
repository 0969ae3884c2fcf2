using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeGate.Core.Ports;
using EdgeGate.Door.Gpio;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeGate.Door;

/// <summary>
/// The door: a lock relay pulsed on grants, plus an optional door contact and exit button.
/// <para>
/// Fail-secure: the relay line is requested already inactive, driven inactive when a pulse ends, on
/// <see cref="Relock"/>, on <see cref="Dispose"/>, when anything in the controller faults and whenever energising
/// fails half-way; if even that write fails, the line is released to the kernel so the wiring's pull locks the door.
/// </para>
/// <para>
/// Threads: one monitor thread per input line reads its edges; pulse and held-open timers run on the
/// <see cref="TimeProvider"/>'s timers. <see cref="DoorEventRaised"/> is raised on one dedicated thread, strictly in
/// the order the state changed, never under the controller's lock: a handler may call <see cref="Open"/> or
/// <see cref="Relock"/>, and a slow handler delays only later events, never the relay.
/// </para>
/// </summary>
public sealed partial class DoorController : IDoorActuator, IDisposable
{
    /// <summary>Causes of relay_released.</summary>
    public static class ReleaseCause
    {
        public const string PulseElapsed = "pulse_elapsed";
        public const string Relock = "relock";
        public const string Dispose = "dispose";
        public const string Fault = "fault";
        public const string OpenFailed = "open_failed";
    }

    /// <summary>The cause given to the relay when the exit button opens the door.</summary>
    public const string ExitButtonCause = "exit_button";

    // Monitors wake this often to notice Dispose; poll(2) has no portable way to be woken early.
    private static readonly TimeSpan MonitorWakeInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ShutdownWait = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private readonly DoorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _ownsChip;
    private readonly ITimer _pulseTimer;
    private readonly ITimer _heldOpenTimer;
    private readonly BlockingCollection<DoorEvent> _events = new();
    private readonly Thread _dispatcher;
    private readonly List<(IGpioInputLine Line, Thread Thread)> _monitors = [];

    private IGpioOutputLine? _relay;
    private IGpioInputLine? _contact;
    private IGpioInputLine? _exitButton;
    private bool _energised;
    private long _energisedAt;
    private long _lastOpenAt;
    private long? _releasedAt;
    private bool? _doorOpen;
    private long _openedAt;
    private bool _heldOpenReported;
    private Exception? _fault;
    private bool _disposed;
    private volatile bool _stopping;

    /// <summary>
    /// Requests the lines on <paramref name="chip"/> (relay first, inactive) and starts monitoring.
    /// Throws <see cref="ArgumentException"/> listing every invalid option, or the chip's exception
    /// (e.g. <see cref="GpioLineBusyException"/>) with nothing left requested.
    /// </summary>
    public DoorController(
        GpioChip chip, DoorOptions options, TimeProvider? timeProvider = null, ILogger<DoorController>? logger = null, bool ownsChip = false)
    {
        ArgumentNullException.ThrowIfNull(chip);
        ThrowIfInvalid(options);
        Chip = chip;
        _options = options.Clone();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _ownsChip = ownsChip;
        _pulseTimer = _time.CreateTimer(static s => ((DoorController)s!).OnPulseTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _heldOpenTimer = _time.CreateTimer(static s => ((DoorController)s!).OnHeldOpenTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _dispatcher = new Thread(DispatchEvents) { Name = "door-events", IsBackground = true };

        try
        {
            var o = _options;
            _relay = chip.RequestOutput(o.RelayLine!.Value, o.Consumer + "-relay", o.RelayActiveLow, initialActive: false);
            if (o.ContactLine is { } contactLine)
            {
                _contact = chip.RequestInput(contactLine, o.Consumer + "-contact", o.ContactActiveLow, o.ContactBias, GpioEdges.Both, o.ContactDebounce);
                _doorOpen = _contact.ReadActive() == o.ContactOpenWhenActive;
                _openedAt = _time.GetTimestamp();
            }
            if (o.ExitButtonLine is { } buttonLine)
                _exitButton = chip.RequestInput(buttonLine, o.Consumer + "-exit", o.ExitButtonActiveLow, o.ExitButtonBias, GpioEdges.Rising, o.ExitButtonDebounce);
        }
        catch
        {
            _exitButton?.Dispose();
            _contact?.Dispose();
            _relay?.Dispose();
            _pulseTimer.Dispose();
            _heldOpenTimer.Dispose();
            throw;
        }

        _dispatcher.Start();
        if (_contact is not null) StartMonitor(_contact, "door-contact", OnContactEdge);
        if (_exitButton is not null) StartMonitor(_exitButton, "door-exit-button", OnExitButtonEdge);
        // A door already open at start-up (propped during a restart) is still held open.
        if (_doorOpen == true) _heldOpenTimer.Change(_options.HeldOpenLimit, Timeout.InfiniteTimeSpan);

        LogStarted(chip.ToString(), _options.RelayLine!.Value, _options.RelayActiveLow, _options.ContactLine, _options.ExitButtonLine);
    }

    /// <summary>
    /// Opens the chip named by <paramref name="options"/> (the kernel device, or a simulated chip wired like
    /// hardware/README.md when <see cref="DoorOptions.Simulated"/>) and a controller that owns it.
    /// </summary>
    public static DoorController Create(DoorOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        var chip = OpenChip(options, timeProvider);
        try
        {
            return new DoorController(chip, options, timeProvider, loggerFactory?.CreateLogger<DoorController>(), ownsChip: true);
        }
        catch
        {
            chip.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The chip <see cref="Create"/> would use, without requesting any line: the kernel device, or a simulated chip wired
    /// like hardware/README.md (on <see cref="DoorOptions.SimulationStateDirectory"/>, so its lines conflict with a
    /// running daemon's as on a real chip). For diagnostics that request the lines themselves (<c>edgegate selftest</c>).
    /// </summary>
    public static GpioChip OpenChip(DoorOptions options, TimeProvider? timeProvider = null)
    {
        ThrowIfInvalid(options);
        return options.Simulated ? CreateSimulatedChip(options, timeProvider) : GpioCharacterDevice.Open(options.Chip);
    }

    private static SimulatedGpioChip CreateSimulatedChip(DoorOptions o, TimeProvider? timeProvider)
    {
        var highest = new[] { o.RelayLine, o.ContactLine, o.ExitButtonLine }.Max() ?? 0;
        var chip = new SimulatedGpioChip(o.SimulatedChipName, Math.Max(54, highest + 1), stateDirectory: o.SimulationStateDirectory, timeProvider: timeProvider);
        // The board's pull holds the relay input at its inactive level; the door starts closed and the button released.
        chip.SetBiasDefault(o.RelayLine!.Value, high: o.RelayActiveLow);
        if (o.ContactLine is { } contact) chip.SetPhysicalLevel(contact, high: !o.ContactOpenWhenActive ^ o.ContactActiveLow);
        if (o.ExitButtonLine is { } button) chip.SetPhysicalLevel(button, high: o.ExitButtonActiveLow);
        return chip;
    }

    private static void ThrowIfInvalid(DoorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException("invalid door options: " + string.Join("; ", errors), nameof(options));
    }

    /// <summary>The chip the lines are on (a <see cref="SimulatedGpioChip"/> lets a demo move the door and press the button).</summary>
    public GpioChip Chip { get; }

    /// <summary>Raised for every <see cref="DoorEventKind"/>, on the controller's event thread (see the class remarks).</summary>
    public event EventHandler<DoorEvent>? DoorEventRaised;

    public bool IsRelayEnergised
    {
        get { lock (_gate) return _energised; }
    }

    /// <summary>Whether the door is open; null without a door contact.</summary>
    public bool? IsDoorOpen
    {
        get { lock (_gate) return _doorOpen; }
    }

    /// <summary>
    /// Why the controller stopped working (a line could not be read or driven), or null. A faulted controller has
    /// driven the relay inactive and refuses <see cref="Open"/>; the host should report it and recreate the controller.
    /// </summary>
    public Exception? Fault
    {
        get { lock (_gate) return _fault; }
    }

    /// <summary>
    /// Energises the relay for <see cref="DoorOptions.PulseLength"/> from now. During a pulse this extends it: the relay
    /// stays energised, so there is no second relay_energised and no release in between. Returns the Stopwatch timestamp
    /// taken right after the line was driven active.
    /// </summary>
    public long Open(string cause)
    {
        ArgumentNullException.ThrowIfNull(cause);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_fault is not null)
                throw new InvalidOperationException($"the door controller is faulted and keeps the door locked: {_fault.Message}", _fault);

            var driven = false;
            try
            {
                _relay!.SetActive(true);
                var drivenAt = Stopwatch.GetTimestamp();
                _lastOpenAt = _time.GetTimestamp();
                _pulseTimer.Change(_options.PulseLength, Timeout.InfiniteTimeSpan);
                driven = true;
                if (!_energised)
                {
                    _energised = true;
                    _energisedAt = _lastOpenAt;
                    Publish(DoorEventKind.RelayEnergised, cause);
                }
                return drivenAt;
            }
            finally
            {
                if (!driven) DriveInactive(ReleaseCause.OpenFailed);
            }
        }
    }

    /// <summary>Releases the relay now, ending any pulse. Harmless when it is not energised.</summary>
    public void Relock()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            DriveInactive(ReleaseCause.Relock);
        }
    }

    /// <summary>
    /// Drives the relay inactive and, when it was energised, records the release. If the write fails the line is given
    /// back to the kernel (the pull then holds the relay off) and the controller faults. Caller holds the lock.
    /// </summary>
    private void DriveInactive(string cause)
    {
        _pulseTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (_relay is not null)
        {
            try
            {
                _relay.SetActive(false);
            }
            catch (Exception e)
            {
                LogRelayWriteFailed(e);
                DropRelay();
                SetFault(e);
            }
        }
        if (!_energised) return;
        _energised = false;
        _releasedAt = _time.GetTimestamp();
        Publish(DoorEventKind.RelayReleased, cause, _time.GetElapsedTime(_energisedAt, _releasedAt.Value).TotalSeconds);
    }

    private void DropRelay()
    {
        try
        {
            _relay?.Dispose();
        }
        catch (Exception e)
        {
            LogRelayReleaseFailed(e);
        }
        _relay = null;
    }

    private void SetFault(Exception e) => _fault ??= e;

    private void OnPulseTimer()
    {
        try
        {
            lock (_gate)
            {
                if (_disposed || !_energised) return;
                // The timer may have been re-armed by an Open while this callback was already on its way.
                var left = _options.PulseLength - _time.GetElapsedTime(_lastOpenAt);
                if (left > TimeSpan.Zero)
                {
                    _pulseTimer.Change(left, Timeout.InfiniteTimeSpan);
                    return;
                }
                DriveInactive(ReleaseCause.PulseElapsed);
            }
        }
        catch (Exception e)
        {
            // Never let an exception escape into the timer's thread (it would end the process with the relay as it was).
            Fail("pulse timer", e);
        }
    }

    private void OnHeldOpenTimer()
    {
        try
        {
            lock (_gate)
            {
                if (_disposed || _doorOpen != true || _heldOpenReported) return;
                var open = _time.GetElapsedTime(_openedAt);
                if (open < _options.HeldOpenLimit)
                {
                    _heldOpenTimer.Change(_options.HeldOpenLimit - open, Timeout.InfiniteTimeSpan);
                    return;
                }
                _heldOpenReported = true;
                Publish(DoorEventKind.HeldOpen, durationSeconds: open.TotalSeconds);
            }
        }
        catch (Exception e)
        {
            Fail("held-open timer", e);
        }
    }

    private void OnContactEdge(GpioEdgeEvent edge)
    {
        lock (_gate)
        {
            if (_disposed) return;
            var open = edge.BecameActive == _options.ContactOpenWhenActive;
            if (open == _doorOpen) return;
            _doorOpen = open;
            var now = _time.GetTimestamp();
            if (open)
            {
                _openedAt = now;
                _heldOpenReported = false;
                _heldOpenTimer.Change(_options.HeldOpenLimit, Timeout.InfiniteTimeSpan);
                var granted = _energised || (_releasedAt is { } released && _time.GetElapsedTime(released, now) <= _options.RelockGrace);
                Publish(DoorEventKind.Opened);
                if (!granted) Publish(DoorEventKind.ForcedOpen);
            }
            else
            {
                _heldOpenTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                Publish(DoorEventKind.Closed, durationSeconds: _time.GetElapsedTime(_openedAt, now).TotalSeconds);
            }
        }
    }

    private void OnExitButtonEdge(GpioEdgeEvent edge)
    {
        if (!edge.BecameActive) return;
        lock (_gate)
        {
            if (_disposed) return;
            Publish(DoorEventKind.ExitButton);
            if (!_options.ExitButtonOpensDoor) return;
            if (_fault is not null)
            {
                LogExitIgnored(_fault.Message);
                return;
            }
        }
        // Open fails only if the relay cannot be driven, and then it has already faulted the controller and locked up.
        try
        {
            Open(ExitButtonCause);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            LogExitOpenFailed(e);
        }
    }

    private void StartMonitor(IGpioInputLine line, string name, Action<GpioEdgeEvent> onEdge)
    {
        var thread = new Thread(() => RunMonitor(line, name, onEdge)) { Name = name, IsBackground = true };
        _monitors.Add((line, thread));
        thread.Start();
    }

    private void RunMonitor(IGpioInputLine line, string name, Action<GpioEdgeEvent> onEdge)
    {
        try
        {
            while (!_stopping)
            {
                if (line.TryReadEdge(MonitorWakeInterval, out var edge)) onEdge(edge);
            }
        }
        catch (Exception e)
        {
            if (!_stopping) Fail(name, e);
        }
    }

    /// <summary>Something the door depends on broke: lock up, remember why, keep reporting what still works.</summary>
    private void Fail(string source, Exception e)
    {
        LogFault(e, source);
        lock (_gate)
        {
            SetFault(e);
            if (!_disposed) DriveInactive(ReleaseCause.Fault);
        }
    }

    /// <summary>
    /// Caller holds the lock, so the queue order is the order of the state changes. Publish after the state (and its
    /// timers) is complete: an observer may react to the event (even move a test clock) before the lock is released.
    /// </summary>
    private void Publish(string kind, string? cause = null, double? durationSeconds = null)
    {
        var doorEvent = new DoorEvent(kind, _time.GetUtcNow(), cause, durationSeconds);
        LogDoorEvent(kind, cause, durationSeconds);
        if (!_events.IsAddingCompleted) _events.Add(doorEvent);
    }

    private void DispatchEvents()
    {
        foreach (var doorEvent in _events.GetConsumingEnumerable())
        {
            try
            {
                DoorEventRaised?.Invoke(this, doorEvent);
            }
            catch (Exception e)
            {
                LogHandlerFailed(e, doorEvent.Kind);
            }
        }
    }

    /// <summary>
    /// Drives the relay inactive and releases it first, then stops the monitors, releases the inputs and delivers the
    /// events still queued (including the final relay_released) before returning.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            try
            {
                DriveInactive(ReleaseCause.Dispose);
            }
            finally
            {
                DropRelay();
                _pulseTimer.Dispose();
                _heldOpenTimer.Dispose();
            }
        }

        _stopping = true;
        foreach (var (line, thread) in _monitors)
        {
            if (thread != Thread.CurrentThread && !thread.Join(ShutdownWait)) LogSlowShutdown(thread.Name ?? "monitor");
            line.Dispose();
        }

        lock (_gate) _events.CompleteAdding();
        if (_dispatcher != Thread.CurrentThread && !_dispatcher.Join(ShutdownWait)) LogSlowShutdown(_dispatcher.Name!);
        if (_ownsChip) Chip.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Door on {Chip}: relay line {RelayLine} (active-low {RelayActiveLow}), contact line {ContactLine}, exit button line {ExitButtonLine}")]
    private partial void LogStarted(string chip, int relayLine, bool relayActiveLow, int? contactLine, int? exitButtonLine);

    [LoggerMessage(Level = LogLevel.Information, Message = "Door event {Kind} (cause {Cause}, {DurationSeconds} s)")]
    private partial void LogDoorEvent(string kind, string? cause, double? durationSeconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Could not drive the relay line inactive; releasing it so the wiring's pull locks the door")]
    private partial void LogRelayWriteFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Error, Message = "Releasing the relay line failed")]
    private partial void LogRelayReleaseFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Door {Source} failed; the relay is locked and the door refuses to open until restarted")]
    private partial void LogFault(Exception e, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exit button pressed but the door controller is faulted: {Fault}")]
    private partial void LogExitIgnored(string fault);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exit button could not open the door")]
    private partial void LogExitOpenFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Error, Message = "A DoorEventRaised handler threw for {Kind}; later events are still delivered")]
    private partial void LogHandlerFailed(Exception e, string kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Door thread {Thread} did not stop within the shutdown wait")]
    private partial void LogSlowShutdown(string thread);
}
