using Microsoft.Data.Sqlite;

namespace EdgeGate.Storage;

/// <summary>One logged event as stored: its id, kind (access / door / security), time and the JSON sent over MQTT.</summary>
public sealed record LoggedEvent(long Sequence, string EventId, string Kind, DateTimeOffset Timestamp, string Json);

/// <summary>
/// The device's own audit trail of access and door events, independent of MQTT delivery (the outbox forgets an event
/// once the broker has it; this log keeps it). Bounded: beyond <c>maxEvents</c> the oldest rows are deleted, so a busy
/// door cannot fill the card. One connection on one lock; <c>synchronous=NORMAL</c> in WAL mode, because the outbox
/// already carries the durability guarantee for delivery and this log may lose the last moments before a power cut.
/// </summary>
public sealed class SqliteEventLog : IDisposable
{
    private const int ApplicationId = 0x45644576; // "EdEv"
    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly int _maxEvents;
    private long _sinceTrim;

    private SqliteEventLog(SqliteConnection connection, int maxEvents)
    {
        _connection = connection;
        _maxEvents = maxEvents;
    }

    public static SqliteEventLog Open(string path, int maxEvents = 100_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEvents, 10);
        var connection = SqliteFiles.Open(path, "Event log", (c, full) =>
        {
            var id = Convert.ToInt64(SqliteFiles.Scalar(c, "PRAGMA application_id"));
            var objects = Convert.ToInt64(SqliteFiles.Scalar(c, "SELECT count(*) FROM sqlite_master"));
            if (id != ApplicationId && objects > 0)
                throw new InvalidDataException($"{full} is not an EdgeGate event log (application_id {id:x8})");
            SqliteFiles.Execute(c, "PRAGMA journal_mode=WAL");
            SqliteFiles.Execute(c, "PRAGMA synchronous=NORMAL");
            SqliteFiles.Execute(c, $"PRAGMA application_id={ApplicationId}");
            SqliteFiles.Execute(c, """
                CREATE TABLE IF NOT EXISTS events(
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  event_id TEXT NOT NULL,
                  kind TEXT NOT NULL,
                  ts_ms INTEGER NOT NULL,
                  json TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS events_ts ON events(ts_ms);
                """);
        }, out _);
        return new SqliteEventLog(connection, maxEvents);
    }

    public void Append(string eventId, string kind, DateTimeOffset ts, string json)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "INSERT INTO events(event_id, kind, ts_ms, json) VALUES ($id, $kind, $ts, $json)";
            cmd.Parameters.AddWithValue("$id", eventId);
            cmd.Parameters.AddWithValue("$kind", kind);
            cmd.Parameters.AddWithValue("$ts", ts.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$json", json);
            cmd.ExecuteNonQuery();
            // Trim in batches: a DELETE per insert would double the write cost for nothing.
            if (++_sinceTrim >= Math.Max(1, _maxEvents / 100))
            {
                _sinceTrim = 0;
                cmd.Parameters.Clear();
                cmd.CommandText = "DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - $max";
                cmd.Parameters.AddWithValue("$max", _maxEvents);
                cmd.ExecuteNonQuery();
            }
        }
    }

    /// <summary>The newest events first, optionally of one kind.</summary>
    public IReadOnlyList<LoggedEvent> Recent(int max, string? kind = null)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = kind is null
                ? "SELECT seq, event_id, kind, ts_ms, json FROM events ORDER BY seq DESC LIMIT $max"
                : "SELECT seq, event_id, kind, ts_ms, json FROM events WHERE kind = $kind ORDER BY seq DESC LIMIT $max";
            cmd.Parameters.AddWithValue("$max", max);
            if (kind is not null) cmd.Parameters.AddWithValue("$kind", kind);
            using var r = cmd.ExecuteReader();
            var list = new List<LoggedEvent>();
            while (r.Read())
                list.Add(new LoggedEvent(r.GetInt64(0), r.GetString(1), r.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)), r.GetString(4)));
            return list;
        }
    }

    public long Count
    {
        get
        {
            lock (_gate)
            {
                using var cmd = _connection.CreateCommand();
                cmd.CommandText = "SELECT count(*) FROM events";
                return Convert.ToInt64(cmd.ExecuteScalar());
            }
        }
    }

    public void Dispose()
    {
        lock (_gate) _connection.Dispose();
    }
}
