using EdgeGate.Core.Ports;
using EdgeGate.Door;

namespace EdgeGate.Integration.Tests.Door;

/// <summary>Collects a door's events (they arrive on the controller's event thread) and lets a test wait for one.</summary>
public sealed class DoorEventRecorder
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);

    private readonly object _gate = new();
    private readonly List<DoorEvent> _events = [];

    public DoorEventRecorder(DoorController door)
    {
        door.DoorEventRaised += (_, e) =>
        {
            lock (_gate)
            {
                _events.Add(e);
                Monitor.PulseAll(_gate);
            }
        };
    }

    public IReadOnlyList<DoorEvent> Events
    {
        get { lock (_gate) return _events.ToArray(); }
    }

    public IReadOnlyList<string> Kinds => Events.Select(e => e.Kind).ToArray();

    /// <summary>Waits until <paramref name="kind"/> has arrived <paramref name="occurrence"/> times and returns that event.</summary>
    public DoorEvent WaitFor(string kind, int occurrence = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultWait);
        lock (_gate)
        {
            while (true)
            {
                var matching = _events.Where(e => e.Kind == kind).ToList();
                if (matching.Count >= occurrence) return matching[occurrence - 1];
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                    throw new TimeoutException(
                        $"no {kind} #{occurrence} within {timeout ?? DefaultWait}; events so far: [{string.Join(", ", _events.Select(e => e.Kind))}]");
                Monitor.Wait(_gate, left);
            }
        }
    }
}
