using EdgeGate.Core.Gallery;
using EdgeGate.Storage;
using Microsoft.Data.Sqlite;

namespace EdgeGate.Integration.Tests.Storage;

public sealed class SqliteGalleryStoreTests : IDisposable
{
    private const string ModelA = "arcface-r100@1";
    private const string ModelB = "mobilefacenet@2";

    private readonly string _dir;
    private readonly string _dbPath;
    private readonly ManualClock _clock = new(new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero));

    public SqliteGalleryStoreTests()
    {
        _dir = Path.Combine(Path.GetTempPath(), "edgegate-gallery-tests-" + Guid.NewGuid().ToString("N"));
        _dbPath = Path.Combine(_dir, "nested", "gallery.db");
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private SqliteGalleryStore OpenStore() => SqliteGalleryStore.Open(_dbPath, GalleryKey.File(Path.Combine(_dir, "template.key")), _clock);

    [Fact]
    public void Update_ChangesNameFlagAndValidity_KeepsTemplates_AndMovesTheChangeStamp()
    {
        using var store = OpenStore();
        store.Enrol(new PersonEnrolment("p1", "Old"), [new NewTemplate(ModelA, [1f, 0f], 0.9f)]);
        var stamp = store.ChangeStamp;
        var until = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var updated = store.Update("p1", p => p with { Name = "New", Enabled = false, ValidUntil = until });
        Assert.NotNull(updated);
        Assert.Equal(("New", false, (DateTimeOffset?)until), (updated.Name, updated.Enabled, updated.ValidUntil));
        Assert.Equal(updated, store.GetPerson("p1"));
        Assert.Single(store.GetTemplates("p1"));
        Assert.NotEqual(stamp, store.ChangeStamp);
        Assert.Null(store.Update("nobody", p => p));
        // An empty validity window is refused and nothing changes.
        Assert.Throws<ArgumentException>(() => store.Update("p1", p => p with { ValidFrom = until.AddDays(1) }));
        Assert.Null(store.GetPerson("p1")!.ValidFrom);
    }

    [Fact]
    public void Schedule_RoundTripsThroughEnrolAndUpdate_SurvivesReopen_AndIsClearedWithNull()
    {
        var schedule = WeeklySchedule.FromJson("""{"sat":["22:00-06:00"],"mon":["08:00-18:00"]}""");
        using (var store = OpenStore())
        {
            var outcome = store.Enrol(new PersonEnrolment("p1", "P", Schedule: schedule), [new NewTemplate(ModelA, [1f, 0f], 0.9f)]);
            Assert.Equal(schedule, outcome.Person.Schedule);
            Assert.Equal(outcome.Person, store.GetPerson("p1"));
        }
        using (var store = OpenStore())
        {
            Assert.Equal("""{"mon":["08:00-18:00"],"sat":["22:00-06:00"]}""", store.GetPerson("p1")!.Schedule!.ToJson());
            Assert.Null(store.Update("p1", p => p with { Schedule = null })!.Schedule);
            Assert.Null(store.GetPerson("p1")!.Schedule);
        }
    }

    [Fact]
    public void Open_CreatesDirectoryAndFile_WithSchemaVersion2()
    {
        using (OpenStore())
        {
            Assert.True(File.Exists(_dbPath));
        }

        Assert.Equal(2L, Scalar("PRAGMA user_version"));
    }

    [Fact]
    public void Enrol_NewPerson_RoundTripsPersonAndTemplatesBitExactly()
    {
        using var store = OpenStore();
        var special = new[]
        {
            -0f, 0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1e-38f, 1f / 3f,
        };
        var e1 = RandomEmbedding(512, seed: 1);
        special.CopyTo(e1, 0);
        var e2 = RandomEmbedding(512, seed: 2);
        var from = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.FromHours(2));
        var until = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        var outcome = store.Enrol(
            new PersonEnrolment("alice", "Alice Example", Enabled: true, ValidFrom: from, ValidUntil: until),
            [new NewTemplate(ModelA, e1, 0.93f), new NewTemplate(ModelA, e2, 0.5f)]);

        Assert.True(outcome.Created);
        Assert.Equal(2, outcome.TemplateIds.Count);
        Assert.Equal("alice", outcome.Person.Id);
        Assert.Equal("Alice Example", outcome.Person.Name);
        Assert.True(outcome.Person.Enabled);
        Assert.Equal(from, outcome.Person.ValidFrom);
        Assert.Equal(until, outcome.Person.ValidUntil);
        Assert.Equal(_clock.Now, outcome.Person.CreatedAt);
        Assert.Equal(_clock.Now, outcome.Person.UpdatedAt);
        Assert.Equal(outcome.Person, store.GetPerson("alice"));

        var templates = store.GetTemplates("alice");
        Assert.Equal(outcome.TemplateIds, templates.Select(t => t.Id));
        Assert.All(templates, t =>
        {
            Assert.Equal("alice", t.PersonId);
            Assert.Equal(ModelA, t.ModelId);
            Assert.Equal(_clock.Now, t.CreatedAt);
        });
        AssertBitIdentical(e1, templates[0].Embedding);
        AssertBitIdentical(e2, templates[1].Embedding);
        Assert.Equal(0.93f, templates[0].Quality);
        Assert.Equal(0.5f, templates[1].Quality);
    }

    [Fact]
    public void Enrol_ExistingId_AppendsTemplatesUpdatesPersonAndKeepsCreatedAt()
    {
        using var store = OpenStore();
        var created = _clock.Now;
        var first = store.Enrol(new PersonEnrolment("bob", "Bob"), [Template(ModelA, 1)]);

        _clock.Now = created.AddMinutes(5);
        var until = created.AddDays(30);
        var second = store.Enrol(
            new PersonEnrolment("bob", "Robert", Enabled: false, ValidUntil: until),
            [Template(ModelA, 2), Template(ModelA, 3)]);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(2, second.TemplateIds.Count);
        Assert.All(second.TemplateIds, id => Assert.True(id > first.TemplateIds[0]));

        var bob = store.GetPerson("bob");
        Assert.NotNull(bob);
        Assert.Equal("Robert", bob.Name);
        Assert.False(bob.Enabled);
        Assert.Null(bob.ValidFrom);
        Assert.Equal(until, bob.ValidUntil);
        Assert.Equal(created, bob.CreatedAt);
        Assert.Equal(_clock.Now, bob.UpdatedAt);
        Assert.Equal(bob, second.Person);

        Assert.Equal(first.TemplateIds.Concat(second.TemplateIds), store.GetTemplates("bob").Select(t => t.Id));
        Assert.Single(store.ListPersons());
    }

    [Theory]
    [InlineData("nan-in-second")]
    [InlineData("infinity-in-second")]
    [InlineData("dim-mismatch")]
    [InlineData("empty-embedding")]
    [InlineData("empty-model")]
    [InlineData("nan-quality")]
    [InlineData("no-templates")]
    [InlineData("empty-id")]
    [InlineData("long-id")]
    [InlineData("control-char-id")]
    [InlineData("empty-name")]
    [InlineData("long-name")]
    [InlineData("empty-validity-window")]
    public void Enrol_Invalid_ThrowsAndLeavesGalleryUnchanged(string failure)
    {
        using var store = OpenStore();
        store.Enrol(new PersonEnrolment("carol", "Carol"), [Template(ModelA, 1), Template(ModelA, 2)]);
        store.Enrol(new PersonEnrolment("dave", "Dave"), [Template(ModelB, 3)]);
        var before = Snapshot(store);

        var good = Template(ModelA, 10);
        var bad = Template(ModelA, 11);
        var person = new PersonEnrolment("carol", "Carol Renamed");
        NewTemplate[] templates = [good, bad];
        switch (failure)
        {
            case "nan-in-second": bad.Embedding[7] = float.NaN; break;
            case "infinity-in-second": bad.Embedding[0] = float.NegativeInfinity; break;
            case "dim-mismatch": templates[1] = new NewTemplate(ModelA, new float[511], 0.9f); break;
            case "empty-embedding": templates[1] = new NewTemplate(ModelA, [], 0.9f); break;
            case "empty-model": templates[1] = bad with { ModelId = "" }; break;
            case "nan-quality": templates[1] = bad with { Quality = float.NaN }; break;
            case "no-templates": templates = []; break;
            case "empty-id": person = person with { Id = "" }; break;
            case "long-id": person = person with { Id = new string('x', 129) }; break;
            case "control-char-id": person = person with { Id = "carol\nforged log line" }; break;
            case "empty-name": person = person with { Name = " " }; break;
            case "long-name": person = person with { Name = new string('n', 257) }; break;
            case "empty-validity-window":
                person = person with { ValidFrom = _clock.Now, ValidUntil = _clock.Now };
                break;
            default: throw new ArgumentOutOfRangeException(nameof(failure));
        }

        Assert.ThrowsAny<ArgumentException>(() => store.Enrol(person, templates));

        Assert.Equal(before, Snapshot(store));
        Assert.Equal("Carol", store.GetPerson("carol")?.Name);
    }

    [Fact]
    public void Enrol_LimitsAreInclusive()
    {
        using var store = OpenStore();
        var id = new string('i', SqliteGalleryStore.MaxPersonIdLength);
        var name = new string('n', SqliteGalleryStore.MaxNameLength);

        var outcome = store.Enrol(new PersonEnrolment(id, name), [Template(ModelA, 1)]);

        Assert.Equal(name, store.GetPerson(id)?.Name);
        Assert.True(outcome.Created);
    }

    [Fact]
    public void Enrol_FailureInsideTransaction_RollsBackPersonAndEarlierTemplates()
    {
        using var store = OpenStore();
        store.Enrol(new PersonEnrolment("erin", "Erin"), [Template(ModelA, 1)]);
        var before = Snapshot(store);

        // Validation cannot catch this, so it exercises the real rollback path: the person upsert and the first
        // template insert have already run when the second insert aborts.
        Execute("CREATE TRIGGER fail_negative_quality BEFORE INSERT ON templates WHEN NEW.quality < 0 "
                + "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");

        Assert.Throws<SqliteException>(() => store.Enrol(
            new PersonEnrolment("erin", "Erin Renamed"),
            [Template(ModelA, 2), Template(ModelA, 3) with { Quality = -1f }]));
        Assert.Throws<SqliteException>(() => store.Enrol(
            new PersonEnrolment("frank", "Frank"),
            [Template(ModelA, 4), Template(ModelA, 5) with { Quality = -1f }]));

        Assert.Equal(before, Snapshot(store));
        Assert.Equal("Erin", store.GetPerson("erin")?.Name);
        Assert.Null(store.GetPerson("frank"));

        // The connection must be usable after the failure (no transaction left dangling).
        Execute("DROP TRIGGER fail_negative_quality");
        var outcome = store.Enrol(new PersonEnrolment("frank", "Frank"), [Template(ModelA, 6)]);
        Assert.True(outcome.Created);
    }

    [Fact]
    public void Enrol_DimensionDifferentFromStoredTemplatesOfSameModel_IsRejected()
    {
        using var store = OpenStore();
        store.Enrol(new PersonEnrolment("gina", "Gina"), [Template(ModelA, 1)]);
        var before = Snapshot(store);

        var ex = Assert.Throws<ArgumentException>(() => store.Enrol(
            new PersonEnrolment("hank", "Hank"), [new NewTemplate(ModelA, RandomEmbedding(128, 2), 0.9f)]));

        Assert.Contains(ModelA, ex.Message);
        Assert.Equal(before, Snapshot(store));

        // Another model may have its own dimension.
        store.Enrol(new PersonEnrolment("hank", "Hank"), [new NewTemplate(ModelB, RandomEmbedding(128, 2), 0.9f)]);
    }

    [Fact]
    public void Delete_RemovesPersonAndCascadesTemplates()
    {
        using var store = OpenStore();
        store.Enrol(new PersonEnrolment("ivan", "Ivan"), [Template(ModelA, 1), Template(ModelB, 2)]);
        store.Enrol(new PersonEnrolment("judy", "Judy"), [Template(ModelA, 3)]);

        Assert.True(store.Delete("ivan"));

        Assert.Null(store.GetPerson("ivan"));
        Assert.Empty(store.GetTemplates("ivan"));
        Assert.Equal(1L, Scalar("SELECT COUNT(*) FROM templates"));
        Assert.Single(store.GetTemplates("judy"));
        Assert.False(store.Delete("ivan"));
        Assert.False(store.Delete("nobody"));
    }

    [Fact]
    public void LoadTemplates_FiltersByModel_AndCountTemplatesNotFromCountsTheRest()
    {
        using var store = OpenStore();
        var a1 = store.Enrol(new PersonEnrolment("kim", "Kim"), [Template(ModelA, 1), Template(ModelB, 2)]);
        var a2 = store.Enrol(new PersonEnrolment("leo", "Leo"), [Template(ModelA, 3)]);
        store.Enrol(new PersonEnrolment("mia", "Mia"), [Template(ModelB, 4), Template(ModelB, 5)]);

        var loadedA = store.LoadTemplates(ModelA);
        Assert.Equal([a1.TemplateIds[0], a2.TemplateIds[0]], loadedA.Select(t => t.Id));
        Assert.All(loadedA, t => Assert.Equal(ModelA, t.ModelId));
        Assert.Equal(["kim", "leo"], loadedA.Select(t => t.PersonId));
        AssertBitIdentical(Template(ModelA, 3).Embedding, loadedA[1].Embedding);

        Assert.Equal(3, store.LoadTemplates(ModelB).Count);
        Assert.Empty(store.LoadTemplates("unknown-model"));

        Assert.Equal(3, store.CountTemplatesNotFrom(ModelA));
        Assert.Equal(2, store.CountTemplatesNotFrom(ModelB));
        Assert.Equal(5, store.CountTemplatesNotFrom("unknown-model"));
    }

    [Fact]
    public void ListPersons_IsOrderedOrdinallyById()
    {
        using var store = OpenStore();
        foreach (var id in new[] { "b", "a", "B", "aa", "10", "9" })
        {
            store.Enrol(new PersonEnrolment(id, "Name " + id), [Template(ModelA, id.Length)]);
        }

        Assert.Equal(["10", "9", "B", "a", "aa", "b"], store.ListPersons().Select(p => p.Id));
    }

    [Fact]
    public void Data_SurvivesCloseAndReopen()
    {
        var embedding = RandomEmbedding(512, seed: 42);
        EnrolOutcome outcome;
        using (var store = OpenStore())
        {
            outcome = store.Enrol(new PersonEnrolment("nina", "Nina"), [new NewTemplate(ModelA, embedding, 0.77f)]);
            store.Enrol(new PersonEnrolment("omar", "Omar"), [Template(ModelB, 1)]);
            Assert.True(store.Delete("omar"));
        }

        using (var reopened = OpenStore())
        {
            Assert.Equal(outcome.Person, reopened.GetPerson("nina"));
            Assert.Equal(["nina"], reopened.ListPersons().Select(p => p.Id));
            var template = Assert.Single(reopened.LoadTemplates(ModelA));
            Assert.Equal(outcome.TemplateIds[0], template.Id);
            AssertBitIdentical(embedding, template.Embedding);
            Assert.Equal(0.77f, template.Quality);
            Assert.Equal(0, reopened.CountTemplatesNotFrom(ModelA));

            // Ids are not reused after a delete (AUTOINCREMENT), even across a reopen.
            var next = reopened.Enrol(new PersonEnrolment("omar", "Omar"), [Template(ModelB, 1)]);
            Assert.True(next.TemplateIds[0] > outcome.TemplateIds[0] + 1);
        }
    }

    [Fact]
    public void Open_UsesWalJournalMode()
    {
        using var store = OpenStore();
        store.Enrol(new PersonEnrolment("pia", "Pia"), [Template(ModelA, 1)]);

        Assert.Equal("wal", Scalar("PRAGMA journal_mode"));
        Assert.True(File.Exists(_dbPath + "-wal"));
    }

    [Fact]
    public void Open_TextFile_ThrowsInvalidDataExceptionNamingPathAndLeavesFileAlone()
    {
        var path = Path.Combine(_dir, "notes.txt");
        Directory.CreateDirectory(_dir);
        var text = string.Join('\n', Enumerable.Range(0, 50).Select(i => $"line {i}: this is not a database"));
        File.WriteAllText(path, text);

        var ex = Assert.Throws<InvalidDataException>(() => SqliteGalleryStore.Open(path, GalleryKey.File(Path.Combine(_dir, "template.key"))));

        Assert.Contains(path, ex.Message);
        Assert.Equal(text, File.ReadAllText(path));
    }

    [Fact]
    public void Open_SomeOtherSqliteDatabase_ThrowsInvalidDataException()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_dbPath)!);
        Execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");

        var ex = Assert.Throws<InvalidDataException>(OpenStore);

        Assert.Contains(_dbPath, ex.Message);
        Assert.Equal(0L, Scalar("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'persons'"));
    }

    [Fact]
    public void Open_NewerSchemaVersion_ThrowsInvalidDataException()
    {
        using (OpenStore())
        {
        }

        Execute("PRAGMA user_version = 99");

        var ex = Assert.Throws<InvalidDataException>(OpenStore);
        Assert.Contains("99", ex.Message);
    }

    [Fact]
    public void Dispose_ThenUse_ThrowsObjectDisposed()
    {
        var store = OpenStore();
        store.Dispose();
        store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => store.ListPersons());
        Assert.Throws<ObjectDisposedException>(() => store.Enrol(new PersonEnrolment("q", "Q"), [Template(ModelA, 1)]));
    }

    [Fact]
    public async Task ConcurrentEnrolsFromSeveralThreads_AllLand()
    {
        const int threads = 8;
        const int perThread = 25;
        using var store = OpenStore();
        using var start = new Barrier(threads);

        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                for (var i = 0; i < perThread; i++)
                {
                    // Each thread adds its own people and also appends to one shared person, so inserts and
                    // upserts of the same row race.
                    store.Enrol(new PersonEnrolment($"t{t:D2}-p{i:D3}", $"Thread {t} person {i}"), [Template(ModelA, i)]);
                    store.Enrol(new PersonEnrolment("shared", $"Shared by {t}"), [Template(ModelA, 1000 + i)]);
                    _ = store.LoadTemplates(ModelA);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();

        await Task.WhenAll(workers);

        Assert.Equal(threads * perThread + 1, store.ListPersons().Count);
        Assert.Equal(threads * perThread, store.GetTemplates("shared").Count);
        Assert.Equal(threads * perThread * 2, store.LoadTemplates(ModelA).Count);
        Assert.Equal(threads * perThread * 2, store.LoadTemplates(ModelA).Select(t => t.Id).Distinct().Count());
    }

    private static NewTemplate Template(string modelId, int seed) => new(modelId, RandomEmbedding(512, seed), 0.9f);

    private static float[] RandomEmbedding(int dim, int seed)
    {
        var random = new Random(seed);
        var v = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            v[i] = random.NextSingle() * 2f - 1f;
        }

        return v;
    }

    private static void AssertBitIdentical(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(actual[i]));
        }
    }

    private static (int Persons, int Templates, string Names) Snapshot(SqliteGalleryStore store)
    {
        var persons = store.ListPersons();
        return (
            persons.Count,
            persons.Sum(p => store.GetTemplates(p.Id).Count),
            string.Join("|", persons.Select(p => $"{p.Id}={p.Name}@{p.UpdatedAt.ToUnixTimeMilliseconds()}")));
    }

    // A separate, unpooled connection so tests see what is on disk, not the store's own view.
    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection(
            new SqliteConnectionStringBuilder { DataSource = _dbPath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private object? Scalar(string sql)
    {
        using var connection = Connect();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private void Execute(string sql)
    {
        using var connection = Connect();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
