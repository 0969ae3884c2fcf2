namespace EdgeGate.Core.Ports;

/// <summary>What the access pipeline may do to the door: energise the lock relay for one pulse.</summary>
public interface IDoorActuator
{
    /// <summary>
    /// Energises the relay for the configured pulse length (restarting the pulse if it is already energised) and
    /// returns <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> taken right after the line was driven active.
    /// Never blocks for the pulse; the relay is released by the door's own timer. Throws when the line cannot be driven
    /// (the caller reports a failed grant; the door stays locked).
    /// </summary>
    long Open(string cause);
}

/// <summary>A door-side event: relay, contact and exit button. Kinds are the strings in <see cref="DoorEventKind"/>.</summary>
public sealed record DoorEvent(string Kind, DateTimeOffset Timestamp, string? Cause = null, double? DurationSeconds = null);

public static class DoorEventKind
{
    public const string RelayEnergised = "relay_energised";
    public const string RelayReleased = "relay_released";
    public const string Opened = "opened";
    public const string Closed = "closed";
    public const string HeldOpen = "held_open";
    public const string ForcedOpen = "forced_open";
    public const string ExitButton = "exit_button";
}
