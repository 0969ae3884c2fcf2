using System.Diagnostics;
using System.Globalization;
using System.Text;
using EdgeGate.Door.Interop;

namespace EdgeGate.Door.Gpio;

/// <summary>A change of a simulated line's physical level. <paramref name="Active"/> is null while nobody holds the line.</summary>
public sealed record GpioTransition(DateTimeOffset Time, int Offset, bool PhysicalHigh, bool? Active, string? Consumer);

/// <summary>
/// A GPIO chip in memory with the kernel's semantics, for tests, demos and bench set-ups without hardware.
/// <list type="bullet">
/// <item>Ownership: a line has at most one holder; a second request throws <see cref="GpioLineBusyException"/> until
/// the first handle is disposed.</item>
/// <item>Levels: a requested output drives its logical level (physical = logical XOR active-low). Anything else reads
/// what "the outside world" drives (<see cref="SetPhysicalLevel"/>), else the request's pull-up/pull-down, else the
/// line's bias default (<see cref="SetBiasDefault"/>; pull-down, i.e. low, unless set). A released line therefore
/// falls back to its bias default, as a real pin does once the kernel returns it to an input.</item>
/// <item>Edges and debounce: edges of the logical level are queued per request (16 deep; on overflow the oldest is
/// dropped and the sequence number shows the gap). With a debounce period a new level is reported only after it has
/// been stable for the whole period, measured on the <see cref="TimeProvider"/>; shorter bounces are swallowed and
/// ReadActive returns the debounced level, as the kernel's software debouncer does.</item>
/// <item>Observability: every physical change is recorded (<see cref="Transitions"/>, <see cref="TransitionRecorded"/>).</item>
/// </list>
/// <para>
/// With a state directory the chip is also visible to other processes, so a test can kill a process that holds a line
/// and see the line released, as the kernel releases a dead process's line descriptors. Files under
/// <c>&lt;stateDirectory&gt;/&lt;chip name&gt;/</c>:
/// </para>
/// <list type="bullet">
/// <item><c>line&lt;N&gt;.lock</c>: empty; the holder keeps an exclusive flock(2) on it for as long as it holds line N.
/// The kernel drops flocks when the last descriptor closes, including on SIGKILL, so "locked" means "held by a live
/// holder". Two chip instances on the same directory (in one process or in two) therefore conflict like two
/// processes on one /dev/gpiochip.</item>
/// <item><c>line&lt;N&gt;.level</c>: one line, rewritten atomically (write + rename) whenever line N is requested,
/// changes level or is released: <c>level=&lt;0|1&gt; default=&lt;0|1&gt; direction=&lt;in|out&gt;
/// active=&lt;0|1|-&gt; consumer=&lt;rest of line&gt;</c>. level is physical; default is the bias default.</item>
/// <item><c>transitions.log</c>: appended, one line per physical change of any line:
/// <c>&lt;ISO 8601 time&gt; &lt;offset&gt; &lt;physical 0|1&gt; &lt;logical 0|1|-&gt; &lt;consumer, or - when
/// unheld&gt;</c>, e.g. <c>2026-11-22T13:45:01.1234567+00:00 17 1 1 edgegate-relay</c>. A holder killed mid-pulse
/// leaves no release line: its last entry is the level it drove, and <see cref="Probe"/> tells what the pin reads now.</item>
/// </list>
/// </summary>
public sealed class SimulatedGpioChip : GpioChip
{
    /// <summary>The kernel's default event buffer: 16 events per requested line.</summary>
    public const int EventBufferSize = 16;

    // A plain object, not System.Threading.Lock: edge readers wait on it with Monitor.Wait.
    private readonly object _gate = new();
    private readonly SimLine[] _lines;
    private readonly List<GpioTransition> _transitions = [];
    private readonly TimeProvider _time;
    private readonly string? _chipDirectory;

    public SimulatedGpioChip(
        string name = "gpiochip0",
        int lineCount = 54,
        string label = "edgegate-sim",
        string? stateDirectory = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        if (name.IndexOfAny(['/', '\0']) >= 0 || name is "." or "..")
            throw new ArgumentException($"chip name '{name}' cannot be a directory name", nameof(name));
        ArgumentOutOfRangeException.ThrowIfLessThan(lineCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lineCount, 4096);

        Name = name;
        Label = label;
        _time = timeProvider ?? TimeProvider.System;
        _lines = new SimLine[lineCount];
        for (var i = 0; i < lineCount; i++) _lines[i] = new SimLine(i);

        if (stateDirectory is not null)
        {
            StateDirectory = Path.GetFullPath(stateDirectory);
            _chipDirectory = Path.Combine(StateDirectory, name);
            Directory.CreateDirectory(_chipDirectory);
        }
    }

    public override string Name { get; }

    public override string Label { get; }

    public override int LineCount => _lines.Length;

    public string? StateDirectory { get; }

    /// <summary>
    /// Raised after every physical level change, on the thread that caused it (a line's owner or the outside world),
    /// outside the chip's lock.
    /// </summary>
    public event EventHandler<GpioTransition>? TransitionRecorded;

    /// <summary>A snapshot of every physical level change so far, oldest first.</summary>
    public IReadOnlyList<GpioTransition> Transitions
    {
        get { lock (_gate) return _transitions.ToArray(); }
    }

    /// <summary>What line <paramref name="offset"/> reads when nothing drives it: the board's pull resistor.</summary>
    public void SetBiasDefault(int offset, bool high) => Change(offset, line => line.DefaultHigh = high);

    /// <summary>
    /// The outside world (a door contact, a button) drives the pin. While the line is a requested output the output
    /// wins; the outside level applies again once it is released.
    /// </summary>
    public void SetPhysicalLevel(int offset, bool high) => Change(offset, line => line.External = high);

    /// <summary>The outside world stops driving the pin; pulls decide again.</summary>
    public void ReleasePhysicalLevel(int offset) => Change(offset, line => line.External = null);

    public bool GetPhysicalLevel(int offset)
    {
        var line = LineAt(offset);
        lock (_gate) return line.Physical;
    }

    /// <summary>
    /// What another process sees of line <paramref name="offset"/> of chip <paramref name="chip"/> under
    /// <paramref name="stateDirectory"/>: whether a live holder has it, and its physical level (the level the holder
    /// last wrote, or the bias default when nobody holds it; a line never requested reads low). Probing takes a shared
    /// flock for an instant, so a request racing with a probe can see the line busy.
    /// </summary>
    public static (bool Requested, bool PhysicalHigh) Probe(string stateDirectory, string chip, int offset)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stateDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(chip);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var directory = Path.Combine(Path.GetFullPath(stateDirectory), chip);
        var state = LevelFile.Read(directory, offset);
        var defaultHigh = state?.DefaultHigh ?? false;
        return IsHeldElsewhere(directory, offset) ? (true, state?.PhysicalHigh ?? defaultHigh) : (false, defaultHigh);
    }

    protected override GpioLineInfo GetLineInfoCore(int offset)
    {
        var line = _lines[offset];
        lock (_gate)
        {
            switch (line.Owner)
            {
                case SimOutput output:
                    return new GpioLineInfo(offset, line.Name, output.Consumer, true, GpioLineDirection.Output,
                        output.ActiveLow, GpioBias.None, GpioEdges.None, TimeSpan.Zero);
                case SimInput input:
                    return new GpioLineInfo(offset, line.Name, input.Consumer, true, GpioLineDirection.Input,
                        input.ActiveLow, input.Bias, input.Edges, input.Debounce);
            }
        }
        if (_chipDirectory is not null && IsHeldElsewhere(_chipDirectory, offset))
        {
            var state = LevelFile.Read(_chipDirectory, offset);
            return new GpioLineInfo(offset, line.Name, state?.Consumer, true,
                state?.Output == true ? GpioLineDirection.Output : GpioLineDirection.Input,
                false, GpioBias.None, GpioEdges.None, TimeSpan.Zero);
        }
        return new GpioLineInfo(offset, line.Name, null, false, GpioLineDirection.Input, false, GpioBias.None, GpioEdges.None, TimeSpan.Zero);
    }

    protected override IGpioOutputLine RequestOutputCore(int offset, string consumer, bool activeLow, bool initialActive) =>
        (IGpioOutputLine)Request(offset, consumer, line => new SimOutput(this, line, consumer, activeLow, initialActive));

    protected override IGpioInputLine RequestInputCore(
        int offset, string consumer, bool activeLow, GpioBias bias, GpioEdges edges, TimeSpan debounce) =>
        (IGpioInputLine)Request(offset, consumer, line => new SimInput(this, line, consumer, activeLow, bias, edges, debounce));

    private SimRequest Request(int offset, string consumer, Func<SimLine, SimRequest> create)
    {
        var line = _lines[offset];
        List<GpioTransition>? raised = null;
        SimRequest request;
        lock (_gate)
        {
            ThrowIfDisposed();
            if (line.Owner is { } owner)
                throw Libc.Error(Libc.EBUSY, "request line", Name, offset, owner.Consumer);
            var lockFile = _chipDirectory is null ? null : TakeLineLock(offset);
            var before = line.Physical;
            request = create(line);
            request.LockFile = lockFile;
            line.Owner = request;
            try
            {
                // Before Settle, so the level the request itself sets up (a pull, the initial output) is not an edge.
                if (request is SimInput input) input.StartReporting();
                Settle(line, before, ref raised);
                WriteLevelFile(line);
            }
            catch
            {
                line.Owner = null;
                lockFile?.Dispose();
                throw;
            }
        }
        Raise(raised);
        return request;
    }

    private FileDescriptorHandle TakeLineLock(int offset)
    {
        var path = LevelFile.LockPath(_chipDirectory!, offset);
        var fd = Libc.Open(path, Libc.ORdWr | Libc.OCreat, 0b110_100_100, out var errno);
        if (fd.IsInvalid)
        {
            fd.Dispose();
            throw Libc.Error(errno, "open", path);
        }
        errno = Libc.Flock(fd, Libc.LockExclusive | Libc.LockNonBlocking);
        if (errno == 0) return fd;
        fd.Dispose();
        if (errno == Libc.EWOULDBLOCK)
            throw Libc.Error(Libc.EBUSY, "request line", Name, offset, LevelFile.Read(_chipDirectory!, offset)?.Consumer);
        throw Libc.Error(errno, "flock", path);
    }

    private static bool IsHeldElsewhere(string chipDirectory, int offset)
    {
        var path = LevelFile.LockPath(chipDirectory, offset);
        using var fd = Libc.Open(path, Libc.ORdOnly, 0, out var errno);
        if (fd.IsInvalid)
        {
            if (errno == Libc.ENOENT) return false; // never requested
            throw Libc.Error(errno, "open", path);
        }
        // A shared lock is granted unless someone holds the exclusive one; closing fd drops ours again.
        errno = Libc.Flock(fd, Libc.LockShared | Libc.LockNonBlocking);
        if (errno == 0) return false;
        if (errno == Libc.EWOULDBLOCK) return true;
        throw Libc.Error(errno, "flock", path);
    }

    private void Change(int offset, Action<SimLine> change)
    {
        var line = LineAt(offset);
        List<GpioTransition>? raised = null;
        lock (_gate)
        {
            var before = line.Physical;
            change(line);
            Settle(line, before, ref raised);
        }
        Raise(raised);
    }

    /// <summary>
    /// After anything that may have moved a line: record the transition, persist it, and let an input's edge
    /// detector see it. Runs under the lock; the .NET event is raised by the caller once the lock is released.
    /// </summary>
    private void Settle(SimLine line, bool before, ref List<GpioTransition>? raised)
    {
        var after = line.Physical;
        if (after == before) return;
        var owner = line.Owner;
        var transition = new GpioTransition(_time.GetUtcNow(), line.Offset, after, owner is null ? null : after ^ owner.ActiveLow, owner?.Consumer);
        _transitions.Add(transition);
        (raised ??= []).Add(transition);
        if (_chipDirectory is not null)
        {
            File.AppendAllText(Path.Combine(_chipDirectory, "transitions.log"), FormatLogLine(transition));
            if (owner is not null) WriteLevelFile(line);
        }
        if (owner is SimInput input) input.OnLevelChanged();
    }

    private static string FormatLogLine(GpioTransition t) => string.Create(CultureInfo.InvariantCulture,
        $"{t.Time:O} {t.Offset} {(t.PhysicalHigh ? 1 : 0)} {(t.Active is bool a ? (a ? "1" : "0") : "-")} {t.Consumer ?? "-"}\n");

    private void WriteLevelFile(SimLine line)
    {
        if (_chipDirectory is null) return;
        LevelFile.Write(_chipDirectory, line.Offset, new LevelFile.State(
            line.Physical, line.DefaultHigh, line.Owner is SimOutput,
            line.Owner is null ? null : line.Physical ^ line.Owner.ActiveLow, line.Owner?.Consumer));
    }

    private void Raise(List<GpioTransition>? raised)
    {
        if (raised is null) return;
        foreach (var transition in raised) TransitionRecorded?.Invoke(this, transition);
    }

    private SimLine LineAt(int offset)
    {
        if ((uint)offset >= (uint)_lines.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{Name} has lines 0..{_lines.Length - 1}");
        return _lines[offset];
    }

    private long NowNanoseconds() => _time.GetElapsedTime(0, _time.GetTimestamp()).Ticks * 100;

    private sealed class SimLine(int offset)
    {
        public int Offset { get; } = offset;
        public string Name { get; } = $"GPIO{offset}";
        public bool DefaultHigh { get; set; }
        public bool? External { get; set; }
        public SimRequest? Owner { get; set; }

        public bool Physical => Owner switch
        {
            SimOutput output => output.Active ^ output.ActiveLow,
            SimInput input => External ?? input.Bias switch
            {
                GpioBias.PullUp => true,
                GpioBias.PullDown => false,
                _ => DefaultHigh,
            },
            _ => External ?? DefaultHigh,
        };
    }

    private abstract class SimRequest(SimulatedGpioChip chip, SimLine line, string consumer, bool activeLow) : IDisposable
    {
        protected SimulatedGpioChip Chip { get; } = chip;
        protected SimLine Line { get; } = line;
        public string Consumer { get; } = consumer;
        public bool ActiveLow { get; } = activeLow;
        public FileDescriptorHandle? LockFile { get; set; }
        protected bool Released { get; private set; }

        public int Offset => Line.Offset;

        protected bool RawActive => Line.Physical ^ ActiveLow;

        protected void ThrowIfReleased() => ObjectDisposedException.ThrowIf(Released, this);

        public void Dispose()
        {
            List<GpioTransition>? raised = null;
            lock (Chip._gate)
            {
                if (Released) return;
                Released = true;
                OnRelease();
                var before = Line.Physical;
                Line.Owner = null;
                Chip.Settle(Line, before, ref raised);
                Chip.WriteLevelFile(Line);
                // Last: another process may take the line the moment the lock is gone.
                LockFile?.Dispose();
                Monitor.PulseAll(Chip._gate);
            }
            Chip.Raise(raised);
        }

        protected virtual void OnRelease()
        {
        }

        public override string ToString() => $"{Chip.Name} line {Offset} ({Consumer})";
    }

    private sealed class SimOutput(SimulatedGpioChip chip, SimLine line, string consumer, bool activeLow, bool initialActive)
        : SimRequest(chip, line, consumer, activeLow), IGpioOutputLine
    {
        public bool Active { get; private set; } = initialActive;

        public bool IsActive
        {
            get
            {
                lock (Chip._gate)
                {
                    ThrowIfReleased();
                    return Active;
                }
            }
        }

        public void SetActive(bool active)
        {
            List<GpioTransition>? raised = null;
            lock (Chip._gate)
            {
                ThrowIfReleased();
                var before = Line.Physical;
                Active = active;
                Chip.Settle(Line, before, ref raised);
            }
            Chip.Raise(raised);
        }
    }

    private sealed class SimInput(
        SimulatedGpioChip chip, SimLine line, string consumer, bool activeLow, GpioBias bias, GpioEdges edges, TimeSpan debounce)
        : SimRequest(chip, line, consumer, activeLow), IGpioInputLine
    {
        private readonly Queue<GpioEdgeEvent> _events = new();
        private ITimer? _debounceTimer;
        private long _lastRawChange;
        private bool _reportedActive;
        private uint _sequence;

        public GpioBias Bias { get; } = bias;
        public GpioEdges Edges { get; } = edges;
        public TimeSpan Debounce { get; } = debounce;

        /// <summary>Edge detection starts from the level at request time; the request itself is not an edge.</summary>
        public void StartReporting()
        {
            _reportedActive = RawActive;
            if (Debounce > TimeSpan.Zero)
                _debounceTimer = Chip._time.CreateTimer(static s => ((SimInput)s!).OnDebounceElapsed(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        /// <summary>Called under the chip lock when the physical level moved.</summary>
        public void OnLevelChanged()
        {
            if (Released) return;
            if (_debounceTimer is null)
            {
                Report();
                return;
            }
            // Every raw change restarts the wait: only a level that survives a whole period gets reported.
            _lastRawChange = Chip._time.GetTimestamp();
            _debounceTimer.Change(Debounce, Timeout.InfiniteTimeSpan);
        }

        private void OnDebounceElapsed()
        {
            lock (Chip._gate)
            {
                if (Released) return;
                // A callback already on its way when the level moved again (or a coarse timer firing a little early)
                // must not report a level that has not been stable for the whole period yet.
                var left = Debounce - Chip._time.GetElapsedTime(_lastRawChange);
                if (left > TimeSpan.Zero)
                {
                    _debounceTimer!.Change(left, Timeout.InfiniteTimeSpan);
                    return;
                }
                Report();
            }
        }

        private void Report()
        {
            var active = RawActive;
            if (active == _reportedActive) return;
            _reportedActive = active;
            if (!Edges.HasFlag(active ? GpioEdges.Rising : GpioEdges.Falling)) return;
            _sequence++;
            if (_events.Count == EventBufferSize) _events.Dequeue();
            _events.Enqueue(new GpioEdgeEvent(Offset, active ? GpioEdge.Rising : GpioEdge.Falling, Chip.NowNanoseconds(), _sequence));
            Monitor.PulseAll(Chip._gate);
        }

        public bool ReadActive()
        {
            lock (Chip._gate)
            {
                ThrowIfReleased();
                return _debounceTimer is null ? RawActive : _reportedActive;
            }
        }

        public bool TryReadEdge(TimeSpan timeout, out GpioEdgeEvent edgeEvent)
        {
            if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be non-negative or infinite");
            var started = Stopwatch.GetTimestamp();
            lock (Chip._gate)
            {
                while (true)
                {
                    ThrowIfReleased();
                    if (_events.TryDequeue(out edgeEvent)) return true;
                    if (timeout == Timeout.InfiniteTimeSpan)
                    {
                        Monitor.Wait(Chip._gate);
                        continue;
                    }
                    var left = timeout - Stopwatch.GetElapsedTime(started);
                    if (left <= TimeSpan.Zero) return false;
                    Monitor.Wait(Chip._gate, left);
                }
            }
        }

        protected override void OnRelease()
        {
            _debounceTimer?.Dispose();
            _events.Clear();
        }
    }

    /// <summary>The per-line files under the state directory (format in the class comment).</summary>
    private static class LevelFile
    {
        public sealed record State(bool PhysicalHigh, bool DefaultHigh, bool Output, bool? Active, string? Consumer);

        public static string LockPath(string chipDirectory, int offset) => Path.Combine(chipDirectory, $"line{offset}.lock");

        private static string LevelPath(string chipDirectory, int offset) => Path.Combine(chipDirectory, $"line{offset}.level");

        public static void Write(string chipDirectory, int offset, State state)
        {
            var path = LevelPath(chipDirectory, offset);
            var text = string.Create(CultureInfo.InvariantCulture,
                $"level={(state.PhysicalHigh ? 1 : 0)} default={(state.DefaultHigh ? 1 : 0)} direction={(state.Output ? "out" : "in")} " +
                $"active={(state.Active is bool a ? (a ? "1" : "0") : "-")} consumer={state.Consumer}\n");
            // Write-then-rename so a reader in another process never sees half a file.
            var temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
            File.WriteAllText(temporary, text, Encoding.UTF8);
            File.Move(temporary, path, overwrite: true);
        }

        public static State? Read(string chipDirectory, int offset)
        {
            string text;
            try
            {
                text = File.ReadAllText(LevelPath(chipDirectory, offset), Encoding.UTF8);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return null;
            }
            var consumerAt = text.IndexOf("consumer=", StringComparison.Ordinal);
            var consumer = consumerAt < 0 ? null : text[(consumerAt + "consumer=".Length)..].TrimEnd('\n');
            var fields = (consumerAt < 0 ? text : text[..consumerAt])
                .Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(f => f.Split('=', 2))
                .Where(kv => kv.Length == 2)
                .ToDictionary(kv => kv[0], kv => kv[1]);
            return new State(
                fields.GetValueOrDefault("level") == "1",
                fields.GetValueOrDefault("default") == "1",
                fields.GetValueOrDefault("direction") == "out",
                fields.GetValueOrDefault("active") switch { "1" => true, "0" => false, _ => null },
                string.IsNullOrEmpty(consumer) ? null : consumer);
        }
    }
}
