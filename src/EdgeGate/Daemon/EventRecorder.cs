using System.Text;
using EdgeGate.Core.Access;
using EdgeGate.Core.Ports;
using EdgeGate.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeGate.Daemon;

/// <summary>MQTT topic names under <c>&lt;prefix&gt;/&lt;device&gt;/</c>.</summary>
public sealed class Topics(string prefix, string device)
{
    public string Base { get; } = $"{prefix}/{device}";
    public string Status => $"{Base}/status";
    public string AccessEvents => $"{Base}/event/access";
    public string DoorEvents => $"{Base}/event/door";
    public string Telemetry => $"{Base}/telemetry";
    public string HomeAssistantLockCommand => $"{Base}/ha/lock/set";
    public string SecurityEvents => $"{Base}/event/security";
    public string EnrolProgress => $"{Base}/event/enrol_progress";
    public string CommandFilter => $"{Base}/cmd/+";
    public string Reply(string requestId) => $"{Base}/reply/{requestId}";
}

/// <summary>
/// Every event goes the same way: audit log, then the durable outbox (so it survives a broker outage or a restart),
/// then a wake-up for the publisher, then one log line for whoever watches the console or the journal.
/// Called from the pipeline thread (access) and the door's monitor thread (door); the stores are thread-safe.
/// </summary>
public sealed class EventRecorder(
    string device,
    Topics topics,
    SqliteEventLog log,
    IOutbox outbox,
    DaemonState state,
    ILogger<EventRecorder> logger)
{
    /// <summary>Set by the MQTT service: tells the publisher there is something new.</summary>
    public Action? Wake { get; set; }

    public void Record(AccessDecision d)
    {
        var json = EventJson.Access(d, device);
        Store(d.EventId.ToString(), "access", d.Timestamp, topics.AccessEvents, json);
        state.DecisionMade(d.LatencyMs, d.Granted);
        state.LastDecision = d.ReasonName is { } r ? $"denied:{r}" : "granted";
        if (d.Person is { } p) state.LastPerson = p.Name;
        if (d.Granted)
            logger.LogInformation("access granted to {PersonId} ({PersonName}), similarity {Similarity:F3}, liveness {Liveness}, latency {LatencyMs:F0} ms [track {Track}]",
                d.Person?.Id, d.Person?.Name, d.Similarity, d.Liveness.State.ToString().ToLowerInvariant(), d.LatencyMs, d.TrackId);
        else
            logger.LogInformation("access denied: {Reason}{Who}, similarity {Similarity}, latency {LatencyMs:F0} ms [track {Track}]{Detail}",
                d.ReasonName, d.Person is { } who ? $" ({who.Id})" : "", d.Similarity is { } s ? s.ToString("F3") : "-", d.LatencyMs, d.TrackId,
                d.Detail is { } detail ? $": {detail}" : "");
    }

    public void Record(DoorEvent e)
    {
        var id = Guid.CreateVersion7(e.Timestamp);
        var json = EventJson.Door(e, id, device);
        Store(id.ToString(), "door", e.Timestamp, topics.DoorEvents, json);
        logger.LogInformation("door: {Kind}{Cause}{Duration}", e.Kind, e.Cause is { } c ? $" ({c})" : "",
            e.DurationSeconds is { } s ? $" after {s:F1} s" : "");
    }

    /// <summary>A remote unlock: an access event with decision granted, reason <c>remote_unlock</c> and the operator's reason.</summary>
    public void RecordRemoteUnlock(string reason, string requestId)
    {
        var ts = DateTimeOffset.UtcNow;
        var id = Guid.CreateVersion7(ts);
        var json = Json(w =>
        {
            w.WriteString("event_id", id.ToString());
            w.WriteString("ts", ts.UtcDateTime.ToString("O"));
            w.WriteString("device", device);
            w.WriteString("decision", "granted");
            w.WriteString("reason", "remote_unlock");
            w.WriteString("detail", reason);
            w.WriteString("request_id", requestId);
        });
        Store(id.ToString(), "access", ts, topics.AccessEvents, json);
        logger.LogInformation("access granted: remote unlock ({Reason}) [request {RequestId}]", reason, requestId);
    }

    /// <summary>A refused command (unsigned, forged, stale, replayed, wrong target): kept and sent like any event.</summary>
    public void RecordSecurity(string code, string verb, string? requestId, string message)
    {
        var ts = DateTimeOffset.UtcNow;
        var id = Guid.CreateVersion7(ts);
        var json = Json(w =>
        {
            w.WriteString("event_id", id.ToString());
            w.WriteString("ts", ts.UtcDateTime.ToString("O"));
            w.WriteString("device", device);
            w.WriteString("event", "command_refused");
            w.WriteString("code", code);
            w.WriteString("verb", verb);
            if (requestId is null) w.WriteNull("request_id"); else w.WriteString("request_id", requestId);
            w.WriteString("detail", message);
        });
        Store(id.ToString(), "security", ts, topics.SecurityEvents, json);
        logger.LogWarning("security: command {Verb} refused ({Code}): {Message} [request {RequestId}]", verb, code, message, requestId);
    }

    private static byte[] Json(Action<System.Text.Json.Utf8JsonWriter> body)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private void Store(string eventId, string kind, DateTimeOffset ts, string topic, byte[] json)
    {
        try
        {
            log.Append(eventId, kind, ts, Encoding.UTF8.GetString(json));
        }
        catch (Exception ex)
        {
            // The audit copy failing (disk full) must not stop delivery, nor the door.
            logger.LogError(ex, "event log write failed for {EventId}", eventId);
        }
        try
        {
            outbox.Enqueue(topic, json, qos: 1);
            Wake?.Invoke();
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "outbox write failed; event {EventId} will not reach MQTT: {Json}", eventId, Encoding.UTF8.GetString(json));
        }
    }
}
