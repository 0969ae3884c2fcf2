namespace EdgeGate.Core.Tests.Fakes;

/// <summary>
/// A clock that only moves when told: by <see cref="Advance"/>, or (with <see cref="AutoAdvanceTimers"/>) by exactly
/// the due time of each timer created, as if that much time had passed while someone waited. Every requested timer
/// due time is recorded, which is how tests read the back-off sequence without sleeping.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<TimeSpan> _requested = [];
    private long _ticks;

    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>When true, a new timer's due time passes at once (on the thread pool), firing it.</summary>
    public bool AutoAdvanceTimers { get; init; } = true;

    public IReadOnlyList<TimeSpan> RequestedTimers
    {
        get { lock (_lock) return _requested.ToArray(); }
    }

    public TimeSpan Elapsed
    {
        get { lock (_lock) return TimeSpan.FromTicks(_ticks); }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_lock) return _ticks;
    }

    public override DateTimeOffset GetUtcNow() => Epoch + Elapsed;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        List<ManualTimer> due;
        lock (_lock)
        {
            _ticks += by.Ticks;
            due = _timers.Where(t => t.DueTicks <= _ticks).ToList();
            foreach (var t in due) _timers.Remove(t);
        }
        foreach (var t in due) t.Fire();
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (period != Timeout.InfiniteTimeSpan)
            throw new NotSupportedException("periodic timers are not needed by the code under test");
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private void Schedule(ManualTimer timer, TimeSpan dueTime)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
            if (dueTime == Timeout.InfiniteTimeSpan) return;
            _requested.Add(dueTime);
            timer.DueTicks = _ticks + dueTime.Ticks;
            _timers.Add(timer);
        }
        // Fired from the pool, never inline: the caller (Task.Delay) is still setting itself up.
        if (AutoAdvanceTimers)
            ThreadPool.QueueUserWorkItem(_ => Advance(TimeSpan.FromTicks(Math.Max(0, timer.DueTicks - GetTimestamp()))));
    }

    private void Cancel(ManualTimer timer)
    {
        lock (_lock) _timers.Remove(timer);
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long DueTicks;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Schedule(this, dueTime);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose() => owner.Cancel(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
