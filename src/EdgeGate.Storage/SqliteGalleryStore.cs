using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeGate.Core.Gallery;
using Microsoft.Data.Sqlite;

namespace EdgeGate.Storage;

/// <summary>
/// <see cref="IGalleryStore"/> backed by one SQLite file (WAL journal).
/// </summary>
/// <remarks>
/// <para>
/// Thread-safety: the store owns a single connection and serialises every call on one lock, so it may be
/// shared freely between threads. Gallery traffic is tiny (a load at start-up, the odd enrolment), so the
/// lost read parallelism is not worth a pool of connections and the reasoning that would come with it.
/// Other processes (e.g. the CLI enrolling while the daemon runs) are coordinated by SQLite's own locking
/// with a busy timeout.
/// </para>
/// <para>
/// Times are stored as unix milliseconds (UTC), so values read back are truncated to the millisecond.
/// Person ids compare ordinally (SQLite BINARY collation): "Ann" and "ann" are different people.
/// </para>
/// </remarks>
public sealed class SqliteGalleryStore : IGalleryStore
{
    public const int MaxPersonIdLength = 128;
    public const int MaxNameLength = 256;

    /// <summary>Schema version this build writes; stored in <c>PRAGMA user_version</c>.</summary>
    public const int SchemaVersion = 1;

    // Marks the file as ours so that some other application's SQLite database is refused instead of
    // having gallery tables quietly added to it. ASCII "EdGa".
    private const int ApplicationId = 0x45644761;


    private const string PersonColumns = "id, name, enabled, valid_from, valid_until, created_at, updated_at";
    private const string TemplateColumns = "id, person_id, model_id, dim, embedding, quality, created_at";

    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private bool _disposed;
    private long _ownWrites;

    private SqliteGalleryStore(SqliteConnection connection, TimeProvider time, string path)
    {
        _connection = connection;
        _time = time;
        Path = path;
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    /// <summary>
    /// Opens the gallery at <paramref name="path"/>, creating the directory, the file and the schema as needed.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file is not a SQLite database, is corrupt, is some other application's database, or was written by a
    /// newer schema version.
    /// </exception>
    /// <exception cref="IOException">The file could not be opened or initialised (permissions, read-only, disk full).</exception>
    public static SqliteGalleryStore Open(string path, TimeProvider? timeProvider = null)
    {
        var connection = SqliteFiles.Open(path, "Gallery file", (c, full) =>
        {
            ConfigureConnection(c);
            Migrate(c, full);
        }, out var fullPath);
        return new SqliteGalleryStore(connection, timeProvider ?? TimeProvider.System, fullPath);
    }

    public EnrolOutcome Enrol(PersonEnrolment person, IReadOnlyList<NewTemplate> templates)
    {
        ArgumentNullException.ThrowIfNull(person);
        ArgumentNullException.ThrowIfNull(templates);
        ValidateEnrolment(person, templates);
        var dim = templates[0].Embedding.Length;
        var modelIds = templates.Select(t => t.ModelId).Distinct(StringComparer.Ordinal).ToArray();

        // Serialise before taking the lock: the work under the lock should be database work only.
        var blobs = templates.Select(t => ToBlob(t.Embedding)).ToArray();

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();

            // BeginTransaction() issues BEGIN IMMEDIATE: take the write lock up front so a concurrent writer in
            // another process makes us wait (busy timeout) rather than fail half-way with SQLITE_BUSY.
            var tx = _connection.BeginTransaction();
            try
            {
                foreach (var modelId in modelIds)
                {
                    // A matcher index holds one dimension per model; a mismatch here means a wrong or
                    // mislabelled model, and storing it would poison every later load of that model.
                    using var dimCmd = Command("SELECT dim FROM templates WHERE model_id = $model LIMIT 1", tx);
                    dimCmd.Parameters.AddWithValue("$model", modelId);
                    if (dimCmd.ExecuteScalar() is long existingDim && existingDim != dim)
                    {
                        throw new ArgumentException(
                            $"Model '{modelId}' already has {existingDim}-dimensional templates; got {dim}.",
                            nameof(templates));
                    }
                }

                bool created;
                using (var exists = Command("SELECT 1 FROM persons WHERE id = $id", tx))
                {
                    exists.Parameters.AddWithValue("$id", person.Id);
                    created = exists.ExecuteScalar() is null;
                }

                using (var upsert = Command(
                    """
                    INSERT INTO persons (id, name, enabled, valid_from, valid_until, created_at, updated_at)
                    VALUES ($id, $name, $enabled, $from, $until, $now, $now)
                    ON CONFLICT (id) DO UPDATE SET
                        name = excluded.name,
                        enabled = excluded.enabled,
                        valid_from = excluded.valid_from,
                        valid_until = excluded.valid_until,
                        updated_at = excluded.updated_at
                    """, tx))
                {
                    upsert.Parameters.AddWithValue("$id", person.Id);
                    upsert.Parameters.AddWithValue("$name", person.Name);
                    upsert.Parameters.AddWithValue("$enabled", person.Enabled ? 1 : 0);
                    upsert.Parameters.AddWithValue("$from", ToDb(person.ValidFrom));
                    upsert.Parameters.AddWithValue("$until", ToDb(person.ValidUntil));
                    upsert.Parameters.AddWithValue("$now", now);
                    upsert.ExecuteNonQuery();
                }

                var ids = new long[templates.Count];
                using (var insert = Command(
                    """
                    INSERT INTO templates (person_id, model_id, dim, embedding, quality, created_at)
                    VALUES ($person, $model, $dim, $embedding, $quality, $now)
                    RETURNING id
                    """, tx))
                {
                    var pPerson = insert.Parameters.Add("$person", SqliteType.Text);
                    var pModel = insert.Parameters.Add("$model", SqliteType.Text);
                    var pDim = insert.Parameters.Add("$dim", SqliteType.Integer);
                    var pEmbedding = insert.Parameters.Add("$embedding", SqliteType.Blob);
                    var pQuality = insert.Parameters.Add("$quality", SqliteType.Real);
                    var pNow = insert.Parameters.Add("$now", SqliteType.Integer);
                    pPerson.Value = person.Id;
                    pDim.Value = dim;
                    pNow.Value = now;
                    for (var i = 0; i < templates.Count; i++)
                    {
                        pModel.Value = templates[i].ModelId;
                        pEmbedding.Value = blobs[i];
                        pQuality.Value = (double)templates[i].Quality;
                        ids[i] = (long)insert.ExecuteScalar()!;
                    }
                }

                // Read back rather than build from the arguments so the caller sees exactly what a later
                // GetPerson will return (millisecond truncation, preserved created_at).
                var stored = QueryPersons($"SELECT {PersonColumns} FROM persons WHERE id = $id", person.Id, tx)[0];
                tx.Commit();
                _ownWrites++;
                return new EnrolOutcome(stored, created, ids);
            }
            catch
            {
                TryRollback(tx);
                throw;
            }
            finally
            {
                // Not a using: Dispose retries a failed ROLLBACK and would replace the original exception.
                try
                {
                    tx.Dispose();
                }
                catch (SqliteException)
                {
                }
            }
        }
    }

    public bool Delete(string personId)
    {
        ArgumentNullException.ThrowIfNull(personId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // Templates go by ON DELETE CASCADE (foreign_keys is on for this connection).
            using var cmd = Command("DELETE FROM persons WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", personId);
            var deleted = cmd.ExecuteNonQuery() > 0;
            if (deleted) _ownWrites++;
            return deleted;
        }
    }

    /// <summary>
    /// Changes a person's name, enabled flag or validity in one transaction (<paramref name="change"/> gets the stored
    /// person and returns the new one; its id and timestamps are ignored). Null when there is no such person.
    /// </summary>
    public Person? Update(string personId, Func<Person, Person> change)
    {
        ArgumentNullException.ThrowIfNull(personId);
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var tx = _connection.BeginTransaction();
            var found = QueryPersons($"SELECT {PersonColumns} FROM persons WHERE id = $id", personId, tx);
            if (found.Count == 0) return null;
            var updated = change(found[0]);
            ValidatePerson(new PersonEnrolment(personId, updated.Name, updated.Enabled, updated.ValidFrom, updated.ValidUntil));
            using (var cmd = Command(
                "UPDATE persons SET name = $name, enabled = $enabled, valid_from = $from, valid_until = $until, updated_at = $now WHERE id = $id", tx))
            {
                cmd.Parameters.AddWithValue("$id", personId);
                cmd.Parameters.AddWithValue("$name", updated.Name);
                cmd.Parameters.AddWithValue("$enabled", updated.Enabled ? 1 : 0);
                cmd.Parameters.AddWithValue("$from", ToDb(updated.ValidFrom));
                cmd.Parameters.AddWithValue("$until", ToDb(updated.ValidUntil));
                cmd.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
                cmd.ExecuteNonQuery();
            }
            var stored = QueryPersons($"SELECT {PersonColumns} FROM persons WHERE id = $id", personId, tx)[0];
            tx.Commit();
            _ownWrites++;
            return stored;
        }
    }

    /// <summary>
    /// Changes whenever the gallery may have changed: a write through this store, or a commit by any other connection
    /// (SQLite's <c>data_version</c>), e.g. the CLI enrolling someone while the daemon runs. Cheap enough to poll.
    /// </summary>
    public long ChangeStamp
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var dataVersion = Convert.ToInt64(ExecuteScalar(_connection, "PRAGMA data_version"));
                return (dataVersion << 32) + _ownWrites;
            }
        }
    }

    public Person? GetPerson(string personId)
    {
        ArgumentNullException.ThrowIfNull(personId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var found = QueryPersons($"SELECT {PersonColumns} FROM persons WHERE id = $id", personId, null);
            return found.Count == 0 ? null : found[0];
        }
    }

    public IReadOnlyList<Person> ListPersons()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return QueryPersons($"SELECT {PersonColumns} FROM persons ORDER BY id", null, null);
        }
    }

    public IReadOnlyList<FaceTemplate> GetTemplates(string personId)
    {
        ArgumentNullException.ThrowIfNull(personId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return QueryTemplates($"SELECT {TemplateColumns} FROM templates WHERE person_id = $arg ORDER BY id", personId);
        }
    }

    public IReadOnlyList<FaceTemplate> LoadTemplates(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return QueryTemplates($"SELECT {TemplateColumns} FROM templates WHERE model_id = $arg ORDER BY id", modelId);
        }
    }

    public int CountTemplatesNotFrom(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var cmd = Command("SELECT COUNT(*) FROM templates WHERE model_id <> $model");
            cmd.Parameters.AddWithValue("$model", modelId);
            return checked((int)(long)cmd.ExecuteScalar()!);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            // Closing the last connection checkpoints the WAL and removes the -wal/-shm side files.
            _connection.Dispose();
        }
    }

    private static void ConfigureConnection(SqliteConnection connection)
    {
        // WAL: readers never block the writer and a crash mid-write cannot corrupt the main file.
        var mode = ExecuteScalar(connection, "PRAGMA journal_mode = WAL") as string;

        // NORMAL is durable against application crashes in WAL mode and only risks the last commits on power
        // loss; without WAL (filesystems lacking shared memory) it could corrupt, so fall back to FULL there.
        var synchronous = string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase) ? "NORMAL" : "FULL";
        ExecuteNonQuery(connection, $"PRAGMA synchronous = {synchronous}");

        // Off by default in SQLite, and per connection: without it deleting a person would orphan templates.
        ExecuteNonQuery(connection, "PRAGMA foreign_keys = ON");
    }

    private static void Migrate(SqliteConnection connection, string path)
    {
        var version = Convert.ToInt32(ExecuteScalar(connection, "PRAGMA user_version"));
        var applicationId = Convert.ToInt32(ExecuteScalar(connection, "PRAGMA application_id"));

        if (version > SchemaVersion)
        {
            throw new InvalidDataException(
                $"Gallery file '{path}' has schema version {version}; this build understands up to {SchemaVersion}.");
        }

        if (version == 0)
        {
            var objects = Convert.ToInt64(ExecuteScalar(connection, "SELECT COUNT(*) FROM sqlite_schema"));
            if (objects > 0)
            {
                throw new InvalidDataException($"'{path}' is a SQLite database but not an EdgeGate gallery.");
            }
        }
        else if (applicationId != ApplicationId)
        {
            throw new InvalidDataException($"'{path}' is a SQLite database but not an EdgeGate gallery.");
        }

        if (version < 1)
        {
            // One transaction per step, user_version included, so a crash leaves either the old or the new schema.
            using var tx = connection.BeginTransaction();
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            // AUTOINCREMENT so template ids are never reused after a delete: an id in an audit log must not come
            // to mean a different person's face.
            cmd.CommandText =
                $"""
                CREATE TABLE persons (
                    id          TEXT    NOT NULL PRIMARY KEY,
                    name        TEXT    NOT NULL,
                    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
                    valid_from  INTEGER NULL,
                    valid_until INTEGER NULL,
                    created_at  INTEGER NOT NULL,
                    updated_at  INTEGER NOT NULL
                );
                CREATE TABLE templates (
                    id         INTEGER PRIMARY KEY AUTOINCREMENT,
                    person_id  TEXT    NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
                    model_id   TEXT    NOT NULL,
                    dim        INTEGER NOT NULL CHECK (dim > 0),
                    embedding  BLOB    NOT NULL CHECK (length(embedding) = dim * 4),
                    quality    REAL    NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX ix_templates_model_id ON templates (model_id);
                CREATE INDEX ix_templates_person_id ON templates (person_id);
                PRAGMA application_id = {ApplicationId};
                PRAGMA user_version = 1;
                """;
            cmd.ExecuteNonQuery();
            tx.Commit();
        }
    }

    private static void ValidateEnrolment(PersonEnrolment person, IReadOnlyList<NewTemplate> templates)
    {
        ValidatePerson(person);
        ValidateTemplates(templates);
    }

    private static void ValidatePerson(PersonEnrolment person)
    {
        if (string.IsNullOrWhiteSpace(person.Id))
        {
            throw new ArgumentException("Person id must not be empty.", nameof(person));
        }

        if (person.Id.Length > MaxPersonIdLength)
        {
            throw new ArgumentException($"Person id is longer than {MaxPersonIdLength} characters.", nameof(person));
        }

        // Ids end up in logs, file names and the door's audit trail, where control characters forge lines.
        if (person.Id.Any(char.IsControl))
        {
            throw new ArgumentException("Person id must not contain control characters.", nameof(person));
        }

        if (string.IsNullOrWhiteSpace(person.Name))
        {
            throw new ArgumentException("Person name must not be empty.", nameof(person));
        }

        if (person.Name.Length > MaxNameLength)
        {
            throw new ArgumentException($"Person name is longer than {MaxNameLength} characters.", nameof(person));
        }

        // An empty window would make the person silently never valid; that is always a typo, not a policy.
        if (person.ValidFrom is { } from && person.ValidUntil is { } until && until <= from)
        {
            throw new ArgumentException("ValidUntil must be later than ValidFrom.", nameof(person));
        }
    }

    private static void ValidateTemplates(IReadOnlyList<NewTemplate> templates)
    {
        if (templates.Count == 0)
        {
            throw new ArgumentException("At least one template is required.", nameof(templates));
        }

        var dim = -1;
        for (var i = 0; i < templates.Count; i++)
        {
            var t = templates[i] ?? throw new ArgumentException($"Template {i} is null.", nameof(templates));
            if (string.IsNullOrWhiteSpace(t.ModelId))
            {
                throw new ArgumentException($"Template {i} has an empty model id.", nameof(templates));
            }

            if (t.Embedding is null || t.Embedding.Length == 0)
            {
                throw new ArgumentException($"Template {i} has an empty embedding.", nameof(templates));
            }

            if (dim < 0)
            {
                dim = t.Embedding.Length;
            }
            else if (t.Embedding.Length != dim)
            {
                throw new ArgumentException(
                    $"Template {i} has {t.Embedding.Length} dimensions; template 0 has {dim}.", nameof(templates));
            }

            foreach (var x in t.Embedding)
            {
                if (!float.IsFinite(x))
                {
                    throw new ArgumentException($"Template {i} has a non-finite embedding value.", nameof(templates));
                }
            }

            // SQLite stores a NaN REAL as NULL, so a non-finite quality would not round-trip.
            if (!float.IsFinite(t.Quality))
            {
                throw new ArgumentException($"Template {i} has a non-finite quality.", nameof(templates));
            }
        }
    }

    private List<Person> QueryPersons(string sql, string? id, SqliteTransaction? tx)
    {
        using var cmd = Command(sql, tx);
        if (id is not null)
        {
            cmd.Parameters.AddWithValue("$id", id);
        }

        var result = new List<Person>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            result.Add(new Person(
                Id: reader.GetString(0),
                Name: reader.GetString(1),
                Enabled: reader.GetInt64(2) != 0,
                ValidFrom: reader.IsDBNull(3) ? null : FromDb(reader.GetInt64(3)),
                ValidUntil: reader.IsDBNull(4) ? null : FromDb(reader.GetInt64(4)),
                CreatedAt: FromDb(reader.GetInt64(5)),
                UpdatedAt: FromDb(reader.GetInt64(6))));
        }

        return result;
    }

    private List<FaceTemplate> QueryTemplates(string sql, string arg)
    {
        using var cmd = Command(sql);
        cmd.Parameters.AddWithValue("$arg", arg);
        var result = new List<FaceTemplate>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            var id = reader.GetInt64(0);
            var dim = reader.GetInt32(3);
            result.Add(new FaceTemplate(
                Id: id,
                PersonId: reader.GetString(1),
                ModelId: reader.GetString(2),
                Embedding: FromBlob(reader.GetFieldValue<byte[]>(4), dim, id),
                Quality: (float)reader.GetDouble(5),
                CreatedAt: FromDb(reader.GetInt64(6))));
        }

        return result;
    }

    private SqliteCommand Command(string sql, SqliteTransaction? tx = null)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private static void TryRollback(SqliteTransaction tx)
    {
        try
        {
            tx.Rollback();
        }
        catch (SqliteException)
        {
            // ROLLBACK itself can fail on a dying disk; the error that got us here is the one worth reporting.
        }
    }

    private static object? ExecuteScalar(SqliteConnection connection, string sql) => SqliteFiles.Scalar(connection, sql);

    private static void ExecuteNonQuery(SqliteConnection connection, string sql) => SqliteFiles.Execute(connection, sql);

    private static object ToDb(DateTimeOffset? value) =>
        value is { } v ? v.ToUnixTimeMilliseconds() : DBNull.Value;

    private static DateTimeOffset FromDb(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs);

    // The file format is little-endian float32 regardless of host, so a gallery copied between machines reads
    // the same; on the (little-endian) targets we ship to this is a plain memory copy.
    private static byte[] ToBlob(float[] embedding)
    {
        var bytes = MemoryMarshal.AsBytes(embedding.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            var words = MemoryMarshal.Cast<byte, int>(bytes.AsSpan());
            BinaryPrimitives.ReverseEndianness(words, words);
        }

        return bytes;
    }

    private static float[] FromBlob(byte[] blob, int dim, long templateId)
    {
        if (dim <= 0 || blob.Length != dim * sizeof(float))
        {
            throw new InvalidDataException(
                $"Template {templateId} is corrupt: {blob.Length} embedding bytes for dimension {dim}.");
        }

        var embedding = new float[dim];
        blob.CopyTo(MemoryMarshal.AsBytes(embedding.AsSpan()));
        if (!BitConverter.IsLittleEndian)
        {
            var words = MemoryMarshal.Cast<float, int>(embedding.AsSpan());
            BinaryPrimitives.ReverseEndianness(words, words);
        }

        return embedding;
    }
}
