using System.Buffers;
using System.Text.Json;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Access;

/// <summary>
/// The JSON of the MQTT events. Field names are the public contract (consumers and Home Assistant templates use them):
/// add fields, never rename. Written with <see cref="Utf8JsonWriter"/> so the event path needs no reflection.
/// </summary>
public static class EventJson
{
    public static byte[] Access(AccessDecision d, string device)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("event_id", d.EventId.ToString());
            w.WriteString("ts", d.Timestamp.UtcDateTime.ToString("O"));
            w.WriteString("device", device);
            w.WriteString("decision", d.DecisionName);
            if (d.ReasonName is { } reason) w.WriteString("reason", reason); else w.WriteNull("reason");
            if (d.Person is { } p)
            {
                w.WriteStartObject("person");
                w.WriteString("id", p.Id);
                w.WriteString("name", p.Name);
                w.WriteEndObject();
            }
            WriteRounded(w, "similarity", d.Similarity);
            WriteRounded(w, "p_same", d.PSame);
            WriteLiveness(w, d.Liveness);
            w.WriteNumber("latency_ms", Math.Round(d.LatencyMs, 1));
            w.WriteNumber("track_id", d.TrackId);
            w.WriteNumber("frames", d.FramesSeen);
            w.WriteNumber("faces_embedded", d.FacesEmbedded);
            if (d.Detail is { } detail) w.WriteString("detail", detail);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Door(DoorEvent e, Guid eventId, string device)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("event_id", eventId.ToString());
            w.WriteString("ts", e.Timestamp.UtcDateTime.ToString("O"));
            w.WriteString("device", device);
            w.WriteString("event", e.Kind);
            if (e.Cause is { } cause) w.WriteString("cause", cause);
            if (e.DurationSeconds is { } s) w.WriteNumber("duration_s", Math.Round(s, 3));
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>"disabled" as a plain string when no checks run, so nobody mistakes it for a pass; otherwise the details.</summary>
    private static void WriteLiveness(Utf8JsonWriter w, LivenessVerdict v)
    {
        if (v.State == LivenessState.Disabled)
        {
            w.WriteString("liveness", "disabled");
            return;
        }
        w.WriteStartObject("liveness");
        w.WriteString("state", v.State switch
        {
            LivenessState.Pending => "pending",
            LivenessState.Live => "live",
            LivenessState.Spoof => "spoof",
            LivenessState.Timeout => "timeout",
            _ => "disabled",
        });
        if (v.Score is { } score) w.WriteNumber("score", Math.Round(score, 4)); else w.WriteNull("score");
        w.WriteStartArray("checks");
        foreach (var c in v.Checks)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Name);
            w.WriteNumber("score", Math.Round(c.Score, 4));
            if (c.Passed is { } passed) w.WriteBoolean("passed", passed); else w.WriteNull("passed");
            if (c.Detail is { } detail) w.WriteString("detail", detail);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteRounded(Utf8JsonWriter w, string name, float? value)
    {
        if (value is { } v && float.IsFinite(v)) w.WriteNumber(name, Math.Round(v, 4));
        else w.WriteNull(name);
    }
}
