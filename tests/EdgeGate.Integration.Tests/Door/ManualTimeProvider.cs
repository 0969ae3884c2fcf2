namespace EdgeGate.Integration.Tests.Door;

/// <summary>
/// A clock that moves only when a test calls <see cref="Advance"/>. Timers due within the advanced span fire in
/// due order, each with the clock set to its own due time, synchronously on the advancing thread.
/// </summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private const long Never = long.MaxValue;

    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = [];
    // Timestamps start well away from zero so "timestamp 0" can never be mistaken for "not set".
    private long _ticks = TimeSpan.TicksPerDay;
    private readonly long _startTicks = TimeSpan.TicksPerDay;
    private long _nextTimerId;

    public ManualTimeProvider() : this(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return start + TimeSpan.FromTicks(_ticks - _startTicks);
    }

    public override long GetTimestamp()
    {
        lock (_gate) return _ticks;
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Timers that will fire if the clock is advanced far enough.</summary>
    public int ActiveTimers
    {
        get { lock (_gate) return _timers.Count(t => t.DueTicks != Never); }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_gate)
        {
            timer.Id = _nextTimerId++;
            _timers.Add(timer);
        }
        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        long target;
        lock (_gate) target = _ticks + by.Ticks;
        while (true)
        {
            ManualTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.DueTicks <= target).OrderBy(t => t.DueTicks).ThenBy(t => t.Id).FirstOrDefault();
                if (next is null)
                {
                    _ticks = target;
                    return;
                }
                _ticks = Math.Max(_ticks, next.DueTicks);
                next.DueTicks = next.PeriodTicks > 0 ? next.DueTicks + next.PeriodTicks : Never;
            }
            next.Callback(next.State);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long Id { get; set; }
        public TimerCallback Callback { get; } = callback;
        public object? State { get; } = state;
        public long DueTicks { get; set; } = Never;
        public long PeriodTicks { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                if (!owner._timers.Contains(this)) return false;
                DueTicks = dueTime == Timeout.InfiniteTimeSpan ? Never : owner._ticks + Math.Max(0, dueTime.Ticks);
                PeriodTicks = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
                return true;
            }
        }

        public void Dispose()
        {
            lock (owner._gate) owner._timers.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
