using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
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
/// <para>
/// Privacy at rest: opened with a <see cref="GalleryKey"/>, every template is sealed with AES-256-GCM (a random 96-bit
/// nonce per blob; the template id, person id, model id and dimension as associated data, so a blob moved to another
/// row fails to open). A plaintext gallery is encrypted in place, in one transaction, the first time it is opened
/// with a key. Person ids, names, validity and schedules stay in clear (list must work, and they are what the audit
/// log shows anyway). <c>secure_delete</c> is on, so deleted rows are overwritten with zeros, not just unlinked.
/// Opened without a key (tests and tools only) templates are written in clear, and a gallery holding encrypted
/// templates is refused.
/// </para>
/// </remarks>
public sealed class SqliteGalleryStore : IGalleryStore
{
    public const int MaxPersonIdLength = 128;
    public const int MaxNameLength = 256;

    /// <summary>Schema version this build writes; stored in <c>PRAGMA user_version</c>.</summary>
    public const int SchemaVersion = 2;

    // Marks the file as ours so that some other application's SQLite database is refused instead of
    // having gallery tables quietly added to it. ASCII "EdGa".
    private const int ApplicationId = 0x45644761;


    private const string PersonColumns = "id, name, enabled, valid_from, valid_until, created_at, updated_at, schedule";

    // Sealed template blob: version byte, nonce, ciphertext (dim × 4 bytes), tag.
    private const byte SealedVersion = 1;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private const int SealOverhead = 1 + NonceBytes + TagBytes;
    private static readonly byte[] KeyCheckAd = Encoding.ASCII.GetBytes("edgegate gallery key check v1");
    private const string TemplateColumns = "id, person_id, model_id, dim, embedding, quality, created_at";

    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private readonly AesGcm? _aes;
    private bool _disposed;
    private long _ownWrites;

    private SqliteGalleryStore(SqliteConnection connection, TimeProvider time, string path, AesGcm? aes, GalleryKey? key, bool keyCreated, int encryptedInPlace)
    {
        _connection = connection;
        _time = time;
        _aes = aes;
        Path = path;
        Key = key;
        KeyCreated = keyCreated;
        EncryptedInPlace = encryptedInPlace;
    }

    /// <summary>The key the templates are sealed with; null = templates in clear (tests and tools only).</summary>
    public GalleryKey? Key { get; }

    /// <summary>True when opening wrote a new key file (a new gallery, or a plaintext one being encrypted).</summary>
    public bool KeyCreated { get; }

    /// <summary>How many plaintext templates were encrypted in place when the gallery was opened.</summary>
    public int EncryptedInPlace { get; }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    /// <summary>
    /// Opens the gallery at <paramref name="path"/>, creating the directory, the file and the schema as needed.
    /// With <paramref name="key"/> (always, outside tests) templates are sealed with it; see the remarks on the class.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file is not a SQLite database, is corrupt, is some other application's database, or was written by a
    /// newer schema version; or the key is missing, open to others or wrong (nothing is changed then); or there is no
    /// key and the gallery holds encrypted templates.
    /// </exception>
    /// <exception cref="IOException">The file could not be opened or initialised (permissions, read-only, disk full).</exception>
    public static SqliteGalleryStore Open(string path, GalleryKey? key, TimeProvider? timeProvider = null)
    {
        byte[]? aesKey = null;
        var created = false;
        var encrypted = 0;
        var connection = SqliteFiles.Open(path, "Gallery file", (c, full) =>
        {
            ConfigureConnection(c);
            Migrate(c, full);
            if (key is null)
            {
                if (CountSealed(c) is > 0 and var n)
                    throw new InvalidDataException($"Gallery file '{full}' holds {n} encrypted templates; it needs its {GalleryKey.What}.");
                return;
            }
            aesKey = key.Resolve(CountSealed(c), full, out created);
            encrypted = SealInPlace(c, aesKey, key, full);
        }, out var fullPath);
        return new SqliteGalleryStore(connection, timeProvider ?? TimeProvider.System, fullPath,
            aesKey is null ? null : new AesGcm(aesKey, TagBytes), key, created, encrypted);
    }

    public EnrolOutcome Enrol(PersonEnrolment person, IReadOnlyList<NewTemplate> templates)
    {
        ArgumentNullException.ThrowIfNull(person);
        ArgumentNullException.ThrowIfNull(templates);
        ValidateEnrolment(person, templates);
        var dim = templates[0].Embedding.Length;
        var modelIds = templates.Select(t => t.ModelId).Distinct(StringComparer.Ordinal).ToArray();


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
                    INSERT INTO persons (id, name, enabled, valid_from, valid_until, created_at, updated_at, schedule)
                    VALUES ($id, $name, $enabled, $from, $until, $now, $now, $schedule)
                    ON CONFLICT (id) DO UPDATE SET
                        name = excluded.name,
                        enabled = excluded.enabled,
                        valid_from = excluded.valid_from,
                        valid_until = excluded.valid_until,
                        updated_at = excluded.updated_at,
                        schedule = excluded.schedule
                    """, tx))
                {
                    upsert.Parameters.AddWithValue("$id", person.Id);
                    upsert.Parameters.AddWithValue("$name", person.Name);
                    upsert.Parameters.AddWithValue("$enabled", person.Enabled ? 1 : 0);
                    upsert.Parameters.AddWithValue("$from", ToDb(person.ValidFrom));
                    upsert.Parameters.AddWithValue("$until", ToDb(person.ValidUntil));
                    upsert.Parameters.AddWithValue("$schedule", (object?)person.Schedule?.ToJson() ?? DBNull.Value);
                    upsert.Parameters.AddWithValue("$now", now);
                    upsert.ExecuteNonQuery();
                }

                // The id is part of the sealed blob's associated data, so it is chosen before the insert (under the write
                // lock nobody else can take it); AUTOINCREMENT's sequence keeps ids of deleted templates unused.
                long nextId;
                using (var seq = Command(
                    "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'templates'), 0), COALESCE((SELECT MAX(id) FROM templates), 0))", tx))
                {
                    nextId = (long)seq.ExecuteScalar()! + 1;
                }
                var ids = new long[templates.Count];
                using (var insert = Command(
                    """
                    INSERT INTO templates (id, person_id, model_id, dim, embedding, quality, created_at)
                    VALUES ($id, $person, $model, $dim, $embedding, $quality, $now)
                    """, tx))
                {
                    var pId = insert.Parameters.Add("$id", SqliteType.Integer);
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
                        ids[i] = nextId + i;
                        pId.Value = ids[i];
                        pModel.Value = templates[i].ModelId;
                        pEmbedding.Value = Seal(ToBlob(templates[i].Embedding), ids[i], person.Id, templates[i].ModelId, dim);
                        pQuality.Value = (double)templates[i].Quality;
                        insert.ExecuteNonQuery();
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
            // Templates go by ON DELETE CASCADE (foreign_keys is on for this connection); secure_delete zeroes the
            // freed bytes in the pages that are written.
            using var cmd = Command("DELETE FROM persons WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", personId);
            var deleted = cmd.ExecuteNonQuery() > 0;
            if (deleted)
            {
                _ownWrites++;
                // Until a checkpoint the old pages (the name in clear) are still in the main file and the WAL. Best
                // effort: a reader in another process can hold the checkpoint back, and the next one completes it.
                try { ExecuteNonQuery(_connection, "PRAGMA wal_checkpoint(TRUNCATE)"); }
                catch (SqliteException) { }
            }
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
            ValidatePerson(new PersonEnrolment(personId, updated.Name, updated.Enabled, updated.ValidFrom, updated.ValidUntil, updated.Schedule));
            using (var cmd = Command(
                "UPDATE persons SET name = $name, enabled = $enabled, valid_from = $from, valid_until = $until, schedule = $schedule, updated_at = $now WHERE id = $id", tx))
            {
                cmd.Parameters.AddWithValue("$id", personId);
                cmd.Parameters.AddWithValue("$name", updated.Name);
                cmd.Parameters.AddWithValue("$enabled", updated.Enabled ? 1 : 0);
                cmd.Parameters.AddWithValue("$from", ToDb(updated.ValidFrom));
                cmd.Parameters.AddWithValue("$until", ToDb(updated.ValidUntil));
                cmd.Parameters.AddWithValue("$schedule", (object?)updated.Schedule?.ToJson() ?? DBNull.Value);
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
            _aes?.Dispose();
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

        // A deleted person's rows are overwritten with zeros rather than left in free space ("delete removes everything").
        ExecuteNonQuery(connection, "PRAGMA secure_delete = ON");
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

        if (version < 2)
        {
            // v2: sealed templates (the length check must admit their overhead; SQLite cannot alter a CHECK, so the table
            // is rebuilt, keeping its AUTOINCREMENT sequence), schedules, and a table for the key check.
            using var tx = connection.BeginTransaction();
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText =
                $"""
                CREATE TEMP TABLE old_sequence AS SELECT seq FROM sqlite_sequence WHERE name = 'templates';
                CREATE TABLE templates_v2 (
                    id         INTEGER PRIMARY KEY AUTOINCREMENT,
                    person_id  TEXT    NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
                    model_id   TEXT    NOT NULL,
                    dim        INTEGER NOT NULL CHECK (dim > 0),
                    embedding  BLOB    NOT NULL CHECK (length(embedding) IN (dim * 4, dim * 4 + {SealOverhead})),
                    quality    REAL    NOT NULL,
                    created_at INTEGER NOT NULL
                );
                INSERT INTO templates_v2 (id, person_id, model_id, dim, embedding, quality, created_at)
                    SELECT id, person_id, model_id, dim, embedding, quality, created_at FROM templates;
                DROP TABLE templates;
                ALTER TABLE templates_v2 RENAME TO templates;
                DELETE FROM sqlite_sequence WHERE name = 'templates';
                INSERT INTO sqlite_sequence (name, seq)
                    SELECT 'templates', MAX(COALESCE((SELECT seq FROM old_sequence), 0), COALESCE((SELECT MAX(id) FROM templates), 0));
                DROP TABLE temp.old_sequence;
                CREATE INDEX ix_templates_model_id ON templates (model_id);
                CREATE INDEX ix_templates_person_id ON templates (person_id);
                ALTER TABLE persons ADD COLUMN schedule TEXT NULL;
                CREATE TABLE gallery_meta (
                    name  TEXT NOT NULL PRIMARY KEY,
                    value BLOB NOT NULL
                );
                PRAGMA user_version = 2;
                """;
            cmd.ExecuteNonQuery();
            tx.Commit();
        }
    }

    private static long CountSealed(SqliteConnection connection) =>
        Convert.ToInt64(ExecuteScalar(connection, "SELECT COUNT(*) FROM templates WHERE length(embedding) <> dim * 4"));

    /// <summary>
    /// Checks the key against the gallery (a sealed check value, or failing that a sealed template) and seals every
    /// template still in clear, all in one transaction; then rewrites the file so no page keeps the plaintext.
    /// </summary>
    /// <returns>how many templates were sealed.</returns>
    private static int SealInPlace(SqliteConnection connection, byte[] aesKey, GalleryKey key, string path)
    {
        using var aes = new AesGcm(aesKey, TagBytes);
        var wrongKey = $"{GalleryKey.What} '{key.Path}' is not the key gallery '{path}' was encrypted with; nothing was changed";
        var sealedCount = 0;
        using (var tx = connection.BeginTransaction())
        {
            using (var check = connection.CreateCommand())
            {
                check.Transaction = tx;
                check.CommandText = "SELECT value FROM gallery_meta WHERE name = 'key_check'";
                if (check.ExecuteScalar() is byte[] stored)
                {
                    if (!TryOpen(aes, stored, KeyCheckAd, out _)) throw new InvalidDataException(wrongKey);
                }
                else
                {
                    check.CommandText = "SELECT id, person_id, model_id, dim, embedding FROM templates WHERE length(embedding) <> dim * 4 LIMIT 1";
                    using (var reader = check.ExecuteReader())
                    {
                        if (reader.Read() && !TryOpen(aes, reader.GetFieldValue<byte[]>(4),
                                AssociatedData(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3)), out _))
                            throw new InvalidDataException(wrongKey);
                    }
                    check.CommandText = "INSERT INTO gallery_meta (name, value) VALUES ('key_check', $value)";
                    check.Parameters.AddWithValue("$value", SealWith(aes, new byte[32], KeyCheckAd));
                    check.ExecuteNonQuery();
                }
            }

            var plain = new List<(long Id, string Person, string Model, int Dim, byte[] Blob)>();
            using (var select = connection.CreateCommand())
            {
                select.Transaction = tx;
                select.CommandText = "SELECT id, person_id, model_id, dim, embedding FROM templates WHERE length(embedding) = dim * 4";
                using var reader = select.ExecuteReader();
                while (reader.Read())
                    plain.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetFieldValue<byte[]>(4)));
            }
            using (var update = connection.CreateCommand())
            {
                update.Transaction = tx;
                update.CommandText = "UPDATE templates SET embedding = $blob WHERE id = $id";
                var pBlob = update.Parameters.Add("$blob", SqliteType.Blob);
                var pId = update.Parameters.Add("$id", SqliteType.Integer);
                foreach (var t in plain)
                {
                    pBlob.Value = SealWith(aes, t.Blob, AssociatedData(t.Id, t.Person, t.Model, t.Dim));
                    pId.Value = t.Id;
                    update.ExecuteNonQuery();
                    CryptographicOperations.ZeroMemory(t.Blob);
                }
            }
            tx.Commit();
            sealedCount = plain.Count;
        }

        if (sealedCount > 0)
        {
            // The old plaintext pages may sit in free pages, in the WAL and in unused parts of rewritten pages: VACUUM
            // rebuilds the file from the live rows, and the checkpoint writes it back and empties the WAL. Both need
            // the file to themselves; if another process holds it they are skipped and the data is still sealed.
            try
            {
                ExecuteNonQuery(connection, "VACUUM");
                ExecuteNonQuery(connection, "PRAGMA wal_checkpoint(TRUNCATE)");
            }
            catch (SqliteException)
            {
            }
        }
        return sealedCount;
    }

    /// <summary>
    /// What a template blob is bound to: moving it to another row, person or model makes it fail to open. Length
    /// prefixes keep the encoding unambiguous for any id.
    /// </summary>
    private static byte[] AssociatedData(long templateId, string personId, string modelId, int dim) =>
        Encoding.UTF8.GetBytes($"edgegate template v1\n{templateId}\n{dim}\n{personId.Length}:{personId}\n{modelId.Length}:{modelId}");

    private static byte[] SealWith(AesGcm aes, byte[] plaintext, byte[] associatedData)
    {
        var blob = new byte[plaintext.Length + SealOverhead];
        blob[0] = SealedVersion;
        var nonce = blob.AsSpan(1, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        aes.Encrypt(nonce, plaintext, blob.AsSpan(1 + NonceBytes, plaintext.Length), blob.AsSpan(1 + NonceBytes + plaintext.Length, TagBytes), associatedData);
        return blob;
    }

    private static bool TryOpen(AesGcm aes, byte[] blob, byte[] associatedData, out byte[] plaintext)
    {
        plaintext = [];
        if (blob.Length < SealOverhead || blob[0] != SealedVersion) return false;
        var length = blob.Length - SealOverhead;
        var result = new byte[length];
        try
        {
            aes.Decrypt(blob.AsSpan(1, NonceBytes), blob.AsSpan(1 + NonceBytes, length), blob.AsSpan(1 + NonceBytes + length, TagBytes), result, associatedData);
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
        plaintext = result;
        return true;
    }

    /// <summary>Seals a template blob with this store's key; in clear when the store has none.</summary>
    private byte[] Seal(byte[] plaintext, long templateId, string personId, string modelId, int dim)
    {
        if (_aes is null) return plaintext;
        var blob = SealWith(_aes, plaintext, AssociatedData(templateId, personId, modelId, dim));
        CryptographicOperations.ZeroMemory(plaintext);
        return blob;
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

        if (person.Schedule is { Ranges.Count: 0 })
        {
            throw new ArgumentException("A schedule must allow at least one range (clear it with null for \"any time\").", nameof(person));
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
                UpdatedAt: FromDb(reader.GetInt64(6)),
                Schedule: reader.IsDBNull(7) ? null : ReadSchedule(reader.GetString(7), reader.GetString(0))));
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
            var personId = reader.GetString(1);
            var modelId = reader.GetString(2);
            result.Add(new FaceTemplate(
                Id: id,
                PersonId: personId,
                ModelId: modelId,
                Embedding: FromBlob(Unseal(reader.GetFieldValue<byte[]>(4), id, personId, modelId, dim), dim, id),
                Quality: (float)reader.GetDouble(5),
                CreatedAt: FromDb(reader.GetInt64(6))));
        }

        return result;
    }

    private byte[] Unseal(byte[] blob, long templateId, string personId, string modelId, int dim)
    {
        if (blob.Length == dim * sizeof(float)) return blob;
        if (_aes is null)
            throw new InvalidDataException($"Template {templateId} is encrypted and this gallery was opened without its {GalleryKey.What}.");
        if (!TryOpen(_aes, blob, AssociatedData(templateId, personId, modelId, dim), out var plaintext))
            throw new InvalidDataException($"Template {templateId} failed authentication: it was altered, or moved from another row.");
        return plaintext;
    }

    private static WeeklySchedule ReadSchedule(string json, string personId)
    {
        try
        {
            return WeeklySchedule.FromJson(json);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            throw new InvalidDataException($"Person '{personId}' has a corrupt schedule: {e.Message}", e);
        }
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
