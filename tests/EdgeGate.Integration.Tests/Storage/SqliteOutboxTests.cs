using System.Text;
using EdgeGate.Storage;
using Microsoft.Data.Sqlite;

namespace EdgeGate.Integration.Tests.Storage;

public sealed class SqliteOutboxTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgegate-outbox-tests-").FullName;
    private string DbPath => Path.Combine(_dir, "nested", "outbox.db");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Enqueue_ReadPending_RoundTripsEveryField_OldestFirst()
    {
        var clock = new ManualClock(new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero));
        using var outbox = SqliteOutbox.Open(DbPath, timeProvider: clock);
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var a = outbox.Enqueue("edgegate/d/event/access", binary, qos: 1);
        clock.Advance(TimeSpan.FromSeconds(1));
        var b = outbox.Enqueue("edgegate/d/status", Utf8("online"), qos: 0, retain: true);
        var c = outbox.Enqueue("edgegate/d/empty", [], qos: 2);

        Assert.True(a < b && b < c);
        Assert.Equal(3, outbox.Count);
        var all = outbox.ReadPending(0, 10);
        Assert.Equal([a, b, c], all.Select(m => m.Id));
        Assert.Equal(("edgegate/d/event/access", 1, false), (all[0].Topic, all[0].Qos, all[0].Retain));
        Assert.Equal(binary, all[0].Payload);
        Assert.Equal(clock.Start, all[0].CreatedAt);
        Assert.Equal(("edgegate/d/status", 0, true), (all[1].Topic, all[1].Qos, all[1].Retain));
        Assert.Equal(clock.Start.AddSeconds(1), all[1].CreatedAt);
        Assert.Empty(all[2].Payload);
        Assert.Equal(2, all[2].Qos);

        Assert.Equal([b, c], outbox.ReadPending(a, 10).Select(m => m.Id));
        Assert.Equal([a], outbox.ReadPending(0, 1).Select(m => m.Id));
        Assert.Empty(outbox.ReadPending(c, 10));
        Assert.Empty(outbox.ReadPending(0, 0));
    }

    [Fact]
    public void Messages_SurviveReopen_AndIdsNeverRepeat_EvenAfterTheOutboxWasEmptied()
    {
        long first, second;
        using (var outbox = SqliteOutbox.Open(DbPath))
        {
            first = outbox.Enqueue("t", Utf8("1"), 1);
            second = outbox.Enqueue("t", Utf8("2"), 1);
        }

        using (var outbox = SqliteOutbox.Open(DbPath))
        {
            Assert.Equal(2, outbox.Count);
            Assert.Equal(["1", "2"], outbox.ReadPending(0, 10).Select(m => Encoding.UTF8.GetString(m.Payload)));
            outbox.Remove(first);
            outbox.Remove(second);
            Assert.Equal(0, outbox.Count);
        }

        using (var outbox = SqliteOutbox.Open(DbPath))
        {
            Assert.Equal(0, outbox.Count);
            // A publisher that already saw id "second" asks for newer ones; a reused id would be skipped for ever.
            var third = outbox.Enqueue("t", Utf8("3"), 1);
            Assert.True(third > second, $"id {third} reused after {second}");
            Assert.Single(outbox.ReadPending(second, 10));
        }
    }

    [Fact]
    public void Remove_IsIdempotent_AndIgnoresUnknownIds()
    {
        using var outbox = SqliteOutbox.Open(DbPath);
        var a = outbox.Enqueue("t", Utf8("a"), 1);
        var b = outbox.Enqueue("t", Utf8("b"), 1);

        outbox.Remove(a);
        outbox.Remove(a);
        outbox.Remove(12345);
        outbox.Remove(-1);

        Assert.Equal(1, outbox.Count);
        Assert.Equal([b], outbox.ReadPending(0, 10).Select(m => m.Id));
    }

    [Fact]
    public void Bound_EvictsTheOldest_AndCountsThem()
    {
        using var outbox = SqliteOutbox.Open(DbPath, maxMessages: 5);
        var ids = Enumerable.Range(0, 8).Select(i => outbox.Enqueue("t", Utf8(i.ToString()), 1)).ToArray();

        Assert.Equal(5, outbox.Count);
        Assert.Equal(3, outbox.Evicted);
        Assert.Equal(ids[3..], outbox.ReadPending(0, 100).Select(m => m.Id));

        // Removing one makes room: the next enqueue evicts nothing.
        outbox.Remove(ids[5]);
        outbox.Enqueue("t", Utf8("8"), 1);
        Assert.Equal(5, outbox.Count);
        Assert.Equal(3, outbox.Evicted);
    }

    [Fact]
    public void Reopen_WithASmallerBound_EvictsTheSurplus_AndEvictedCountsFromThisOpen()
    {
        using (var outbox = SqliteOutbox.Open(DbPath, maxMessages: 10))
        {
            for (var i = 0; i < 10; i++) outbox.Enqueue("t", Utf8(i.ToString()), 1);
        }

        using (var outbox = SqliteOutbox.Open(DbPath, maxMessages: 4))
        {
            Assert.Equal(4, outbox.Count);
            Assert.Equal(6, outbox.Evicted);
            Assert.Equal(["6", "7", "8", "9"], outbox.ReadPending(0, 100).Select(m => Encoding.UTF8.GetString(m.Payload)));
        }

        using (var outbox = SqliteOutbox.Open(DbPath, maxMessages: 4))
        {
            Assert.Equal(0, outbox.Evicted);
        }
    }

    [Fact]
    public void ConcurrentEnqueue_FromManyThreads_KeepsEveryMessageWithUniqueIncreasingIds()
    {
        using var outbox = SqliteOutbox.Open(DbPath);
        const int threads = 8, perThread = 50;
        var ids = new long[threads][];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            ids[t] = Enumerable.Range(0, perThread).Select(i => outbox.Enqueue("t", Utf8($"{t}:{i}"), 1)).ToArray();
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        Assert.Equal(threads * perThread, outbox.Count);
        Assert.Equal(threads * perThread, ids.SelectMany(x => x).Distinct().Count());
        // Each thread's own messages are in the order it wrote them.
        Assert.All(ids, mine => Assert.Equal(mine.Order(), mine));
        var stored = outbox.ReadPending(0, 10_000);
        Assert.Equal(ids.SelectMany(x => x).Order(), stored.Select(m => m.Id));
        var byId = stored.ToDictionary(m => m.Id, m => Encoding.UTF8.GetString(m.Payload));
        for (var t = 0; t < threads; t++)
            for (var i = 0; i < perThread; i++)
                Assert.Equal($"{t}:{i}", byId[ids[t][i]]);
    }

    [Fact]
    public void Open_UsesWal_AndMarksTheFileAsAnOutbox()
    {
        using (SqliteOutbox.Open(DbPath))
        {
        }

        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=false");
        connection.Open();
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode"));
        Assert.Equal(0x45644F62L, Scalar(connection, "PRAGMA application_id"));
        Assert.Equal(1L, Scalar(connection, "PRAGMA user_version"));
    }

    [Fact]
    public void Open_GarbageFile_ThrowsInvalidData()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        File.WriteAllBytes(DbPath, Enumerable.Repeat((byte)0x5A, 8192).ToArray());
        var ex = Assert.Throws<InvalidDataException>(() => SqliteOutbox.Open(DbPath));
        Assert.Contains(DbPath, ex.Message);
    }

    [Fact]
    public void Open_TheGalleryFile_IsRefused()
    {
        using (SqliteGalleryStore.Open(DbPath, key: null))
        {
        }

        var ex = Assert.Throws<InvalidDataException>(() => SqliteOutbox.Open(DbPath));
        Assert.Contains("not an EdgeGate outbox", ex.Message);
    }

    [Fact]
    public void Open_SomeOtherSqliteDatabase_IsRefused_AndLeftUntouched()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        using (var connection = new SqliteConnection($"Data Source={DbPath};Pooling=false"))
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "CREATE TABLE notes (x TEXT)";
            cmd.ExecuteNonQuery();
        }

        Assert.Throws<InvalidDataException>(() => SqliteOutbox.Open(DbPath));
        using var check = new SqliteConnection($"Data Source={DbPath};Pooling=false");
        check.Open();
        Assert.Equal(0L, Scalar(check, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'outbox'"));
    }

    [Fact]
    public void Arguments_AreChecked()
    {
        using var outbox = SqliteOutbox.Open(DbPath);
        Assert.Throws<ArgumentException>(() => outbox.Enqueue("", Utf8("x"), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => outbox.Enqueue("t", Utf8("x"), 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => SqliteOutbox.Open(DbPath + "2", maxMessages: 0));
        outbox.Dispose();
        Assert.Throws<ObjectDisposedException>(() => outbox.Enqueue("t", Utf8("x"), 1));
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;
        public DateTimeOffset Start { get; } = start;
        public void Advance(TimeSpan by) => _now += by;
        public override DateTimeOffset GetUtcNow() => _now;
    }
}
