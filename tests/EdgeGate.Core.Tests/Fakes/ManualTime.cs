namespace EdgeGate.Core.Tests.Fakes;

/// <summary>A clock the test moves by hand. Timestamps are in ticks of 1 ns so elapsed times are exact.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private long _ticks;
    private DateTimeOffset _utc = start;

    public ManualTime() : this(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero)) { }

    public override long TimestampFrequency => 1_000_000_000;
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);
    public override DateTimeOffset GetUtcNow() => _utc;

    public void Advance(TimeSpan by)
    {
        Interlocked.Add(ref _ticks, by.Ticks * 100);
        _utc += by;
    }
}
