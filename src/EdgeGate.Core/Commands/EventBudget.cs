namespace EdgeGate.Core.Commands;

/// <summary>
/// At most <c>perWindow</c> events per fixed window; the rest are counted so the next allowed event can say how many
/// were held back. Used for security events, which anyone able to publish to the broker can provoke. Thread-safe.
/// </summary>
public sealed class EventBudget(int perWindow, TimeSpan window, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private long _windowStart = (time ?? TimeProvider.System).GetTimestamp();
    private int _used;
    private long _suppressed;

    /// <summary>True when this event may be sent; <paramref name="suppressedBefore"/> = events held back since the last one sent.</summary>
    public bool TryTake(out long suppressedBefore)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_time.GetElapsedTime(_windowStart, now) >= window)
            {
                _windowStart = now;
                _used = 0;
            }
            if (_used >= perWindow)
            {
                _suppressed++;
                suppressedBefore = 0;
                return false;
            }
            _used++;
            suppressedBefore = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
