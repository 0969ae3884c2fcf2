using EdgeGate.Core.Ports;
using Microsoft.Data.Sqlite;

namespace EdgeGate.Storage;

/// <summary>
/// <see cref="IOutbox"/> in its own SQLite file (WAL journal, <c>synchronous=FULL</c>).
/// </summary>
/// <remarks>
/// <para>
/// Durability: <see cref="Enqueue"/> returns after the commit is synced to disk, so an accepted event survives a crash
/// or power cut. <see cref="Remove"/> commits with <c>synchronous=NORMAL</c>: it is not synced on its own and a power
/// cut may bring back a removal made just before it, which only republishes an already delivered message (consumers
/// de-duplicate anyway); the next enqueue syncs it along with its own commit. This keeps the PUBACK path free of fsyncs.
/// </para>
/// <para>
/// Bound and eviction policy: at most <see cref="MaxMessages"/> messages are kept. An enqueue that would exceed the
/// bound deletes the oldest messages (lowest ids) in the same transaction and adds them to <see cref="Evicted"/>.
/// Newest wins because, after a long outage, a door's recent events are the ones worth having; the eviction count is
/// exposed so telemetry can report the gap. Opening a file that holds more than the bound evicts the surplus the same way.
/// </para>
/// <para>
/// Ids come from an AUTOINCREMENT key, so they keep growing even after the outbox has been emptied or reopened; a
/// reader that remembers the last id it has seen (<see cref="ReadPending"/>) can never skip a newer message.
/// </para>
/// <para>
/// Thread-safety: one connection, every call serialised on one lock. The file is refused if it is not an EdgeGate
/// outbox (e.g. the gallery), is corrupt or is from a newer schema (<see cref="InvalidDataException"/>).
/// </para>
/// </remarks>
public sealed class SqliteOutbox : IOutbox
{
    public const int DefaultMaxMessages = 10_000;

    /// <summary>Schema version this build writes; stored in <c>PRAGMA user_version</c>.</summary>
    public const int SchemaVersion = 1;

    // Marks the file as an outbox so the gallery or a foreign database is refused. ASCII "EdOb".
    private const int ApplicationId = 0x45644F62;


    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private long _count;
    private long _evicted;
    private bool _synchronousFull = true;
    private bool _disposed;

    private SqliteOutbox(SqliteConnection connection, string path, int maxMessages, TimeProvider time)
    {
        _connection = connection;
        Path = path;
        MaxMessages = maxMessages;
        _time = time;
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    public int MaxMessages { get; }

    public long Count
    {
        get { lock (_gate) return _count; }
    }

    public long Evicted
    {
        get { lock (_gate) return _evicted; }
    }

    /// <summary>Opens (creating directory, file and schema as needed) the outbox at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">Not a SQLite database, corrupt, not an outbox, or a newer schema.</exception>
    /// <exception cref="IOException">The file could not be opened or initialised (permissions, read-only, disk full).</exception>
    public static SqliteOutbox Open(string path, int maxMessages = DefaultMaxMessages, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        var connection = SqliteFiles.Open(path, "Outbox file", (c, full) =>
        {
            Execute(c, "PRAGMA journal_mode = WAL");
            Execute(c, "PRAGMA synchronous = FULL");
            Migrate(c, full);
        }, out var fullPath);
        try
        {
            var outbox = new SqliteOutbox(connection, fullPath, maxMessages, timeProvider ?? TimeProvider.System);
            outbox.Initialise();
            return outbox;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new IOException($"Cannot open outbox file '{fullPath}': {ex.Message}", ex);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public long Enqueue(string topic, ReadOnlySpan<byte> payload, int qos, bool retain = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(qos, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(qos, 2);
        var blob = payload.ToArray();

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            SetSynchronous(full: true);
            using var tx = _connection.BeginTransaction();
            long id;
            using (var insert = Command(
                "INSERT INTO outbox (topic, payload, qos, retain, created_at) VALUES ($topic, $payload, $qos, $retain, $at) RETURNING id",
                tx))
            {
                insert.Parameters.AddWithValue("$topic", topic);
                insert.Parameters.Add("$payload", SqliteType.Blob).Value = blob;
                insert.Parameters.AddWithValue("$qos", qos);
                insert.Parameters.AddWithValue("$retain", retain ? 1 : 0);
                insert.Parameters.AddWithValue("$at", _time.GetUtcNow().ToUnixTimeMilliseconds());
                id = (long)insert.ExecuteScalar()!;
            }

            var evicted = _count + 1 > MaxMessages ? EvictOldest(_count + 1 - MaxMessages, tx) : 0;
            tx.Commit();
            _count += 1 - evicted;
            _evicted += evicted;
            return id;
        }
    }

    public IReadOnlyList<OutboxMessage> ReadPending(long afterId, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (max == 0) return [];
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var select = Command(
                "SELECT id, topic, payload, qos, retain, created_at FROM outbox WHERE id > $after ORDER BY id LIMIT $max");
            select.Parameters.AddWithValue("$after", afterId);
            select.Parameters.AddWithValue("$max", max);
            using var reader = select.ExecuteReader();
            var messages = new List<OutboxMessage>();
            while (reader.Read())
            {
                messages.Add(new OutboxMessage(
                    reader.GetInt64(0),
                    reader.GetString(1),
                    (byte[])reader.GetValue(2),
                    reader.GetInt32(3),
                    reader.GetInt64(4) != 0,
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
            }

            return messages;
        }
    }

    public void Remove(long id)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            SetSynchronous(full: false);
            using var delete = Command("DELETE FROM outbox WHERE id = $id");
            delete.Parameters.AddWithValue("$id", id);
            _count -= delete.ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            try
            {
                // Syncs removals committed under NORMAL, so after a clean shutdown none of them comes back.
                SetSynchronous(full: true);
                Execute(_connection, "PRAGMA wal_checkpoint(TRUNCATE)");
            }
            catch (SqliteException)
            {
                // Best effort: the WAL is replayed on the next open anyway.
            }

            _connection.Dispose();
        }
    }

    private void Initialise()
    {
        lock (_gate)
        {
            _count = (long)Scalar(_connection, "SELECT COUNT(*) FROM outbox")!;
            if (_count > MaxMessages)
            {
                using var tx = _connection.BeginTransaction();
                var evicted = EvictOldest(_count - MaxMessages, tx);
                tx.Commit();
                _count -= evicted;
                _evicted += evicted;
            }
        }
    }

    private long EvictOldest(long n, SqliteTransaction tx)
    {
        using var delete = Command("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT $n)", tx);
        delete.Parameters.AddWithValue("$n", n);
        return delete.ExecuteNonQuery();
    }

    private void SetSynchronous(bool full)
    {
        if (_synchronousFull == full) return;
        Execute(_connection, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
        _synchronousFull = full;
    }

    private SqliteCommand Command(string sql, SqliteTransaction? tx = null)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        return command;
    }

    private static void Migrate(SqliteConnection connection, string path)
    {
        var version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version"));
        var applicationId = Convert.ToInt32(Scalar(connection, "PRAGMA application_id"));
        if (version == 0)
        {
            if (Convert.ToInt64(Scalar(connection, "SELECT COUNT(*) FROM sqlite_schema")) > 0)
                throw new InvalidDataException($"'{path}' is a SQLite database but not an EdgeGate outbox.");
        }
        else if (applicationId != ApplicationId)
        {
            throw new InvalidDataException($"'{path}' is a SQLite database but not an EdgeGate outbox.");
        }
        else if (version > SchemaVersion)
        {
            throw new InvalidDataException(
                $"Outbox file '{path}' has schema version {version}; this build understands up to {SchemaVersion}.");
        }

        if (version < 1)
        {
            using var tx = connection.BeginTransaction();
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText =
                $"""
                CREATE TABLE outbox (
                    id         INTEGER PRIMARY KEY AUTOINCREMENT,
                    topic      TEXT    NOT NULL CHECK (length(topic) > 0),
                    payload    BLOB    NOT NULL,
                    qos        INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),
                    retain     INTEGER NOT NULL CHECK (retain IN (0, 1)),
                    created_at INTEGER NOT NULL
                );
                PRAGMA application_id = {ApplicationId};
                PRAGMA user_version = {SchemaVersion};
                """;
            cmd.ExecuteNonQuery();
            tx.Commit();
        }
    }

    private static object? Scalar(SqliteConnection connection, string sql) => SqliteFiles.Scalar(connection, sql);

    private static void Execute(SqliteConnection connection, string sql) => SqliteFiles.Execute(connection, sql);
}
