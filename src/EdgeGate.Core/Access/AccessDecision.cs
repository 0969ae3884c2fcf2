using EdgeGate.Core.Gallery;

namespace EdgeGate.Core.Access;

/// <summary>Why access was denied. The wire names (<see cref="DenyReasons.Name"/>) are stable: they appear in MQTT events.</summary>
public enum DenyReason
{
    /// <summary>Good faces were seen but none matched an enrolled person clearly enough.</summary>
    Unknown,

    /// <summary>The face never passed the quality gate (too small, blurred, turned away).</summary>
    LowQuality,

    /// <summary>A known person whose access is disabled.</summary>
    NotAuthorised,

    /// <summary>A known person outside their valid_from / valid_until window.</summary>
    OutsideValidity,

    /// <summary>A liveness check positively failed.</summary>
    Spoof,

    /// <summary>Liveness could not be established within the time budget.</summary>
    LivenessTimeout,

    /// <summary>The decision was to open but the relay could not be driven; the door stayed locked.</summary>
    DoorFault,

    /// <summary>A known, enabled, valid person outside their weekly schedule (in the site's time zone).</summary>
    OutsideSchedule,
}

public static class DenyReasons
{
    public static string Name(DenyReason reason) => reason switch
    {
        DenyReason.Unknown => "unknown",
        DenyReason.LowQuality => "low_quality",
        DenyReason.NotAuthorised => "not_authorised",
        DenyReason.OutsideValidity => "outside_validity",
        DenyReason.Spoof => "spoof",
        DenyReason.LivenessTimeout => "liveness_timeout",
        DenyReason.DoorFault => "door_fault",
        DenyReason.OutsideSchedule => "outside_schedule",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}

/// <summary>
/// The one decision made for a face track. <see cref="LatencyMs"/> runs from the arrival of the first frame the face
/// was in to the relay being energised (granted) or to the decision (denied).
/// </summary>
public sealed record AccessDecision(
    Guid EventId,
    DateTimeOffset Timestamp,
    long TrackId,
    bool Granted,
    DenyReason? Reason,
    Person? Person,
    float? Similarity,
    float? PSame,
    LivenessVerdict Liveness,
    double LatencyMs,
    int FramesSeen,
    int FacesEmbedded,
    string? Detail)
{
    public string DecisionName => Granted ? "granted" : "denied";
    public string? ReasonName => Reason is { } r ? DenyReasons.Name(r) : null;
}

/// <summary>Looks up enrolled people by id (the gallery store, or a cache of it).</summary>
public interface IPersonDirectory
{
    Person? Find(string personId);
}
