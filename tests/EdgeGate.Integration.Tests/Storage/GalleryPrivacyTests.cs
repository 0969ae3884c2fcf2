using System.Security.Cryptography;
using System.Text;
using EdgeGate.Core.Gallery;
using EdgeGate.Integration.Tests.Faces;
using EdgeGate.Storage;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Storage;

/// <summary>
/// "A gallery file copied off the device reveals no template in clear": real faces enrolled, the files copied as a
/// thief would, and their bytes searched for the embeddings in every form a template could take.
/// </summary>
public sealed class GalleryPrivacyTests(FaceStackFixture fixture, ITestOutputHelper output) : IClassFixture<FaceStackFixture>, IDisposable
{
    private const int Window = 16;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "edgegate-privacy-" + Guid.NewGuid().ToString("N"));
    private string DbPath => Path.Combine(_dir, "gallery.db");
    private string KeyPath => Path.Combine(_dir, "template.key");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Real embeddings of two photos each of three people from the dev set.</summary>
    private List<(string Person, NewTemplate Template)>? RealTemplates()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return null;
        var stack = fixture.Stack;
        var result = new List<(string, NewTemplate)>();
        foreach (var person in new[] { "Angelina_Jolie", "Ari_Fleischer", "Ariel_Sharon" })
        {
            foreach (var file in Directory.GetFiles(Path.Combine(faces, "people", person)).Order(StringComparer.Ordinal))
            {
                using var frame = stack.Decoder.DecodeFile(file);
                var r = stack.Engine.AnalyzeSingle(frame);
                if (!r.Ok) continue;
                result.Add((person, new NewTemplate(stack.Engine.ModelId, r.Embedding!, r.QualityScore)));
                if (result.Count(t => t.Item1 == person) == 2) break;
            }
        }
        Assert.Equal(6, result.Count);
        return result;
    }

    private static void EnrolAll(SqliteGalleryStore store, List<(string Person, NewTemplate Template)> templates)
    {
        foreach (var group in templates.GroupBy(t => t.Person))
            store.Enrol(new PersonEnrolment(group.Key, group.Key.Replace('_', ' ')), group.Select(g => g.Template).ToList());
    }

    /// <summary>The gallery's files as copied off the device while the daemon runs: main file and WAL.</summary>
    private byte[] CopyOffDevice()
    {
        var copy = new MemoryStream();
        foreach (var f in new[] { DbPath, DbPath + "-wal" })
        {
            if (!File.Exists(f)) continue;
            using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            s.CopyTo(copy);
        }
        return copy.ToArray();
    }

    /// <summary>
    /// Byte patterns that would give a template away: any window of <see cref="Window"/> consecutive values as float32
    /// (either byte order), float16, and int8 (scaled by 127 and by 127 / max |x|).
    /// </summary>
    private static IEnumerable<(string Form, byte[] Pattern)> Leaks(float[] e)
    {
        var maxAbs = e.Max(MathF.Abs);
        for (var start = 0; start + Window <= e.Length; start += Window)
        {
            var w = e.AsSpan(start, Window).ToArray();
            yield return ("float32", w.SelectMany(BitConverter.GetBytes).ToArray());
            yield return ("float32-be", w.SelectMany(x => BitConverter.GetBytes(x).Reverse()).ToArray());
            yield return ("float16", w.SelectMany(x => BitConverter.GetBytes((Half)x)).ToArray());
            yield return ("int8", w.Select(x => (byte)(sbyte)Math.Clamp(MathF.Round(x * 127), -127, 127)).ToArray());
            yield return ("int8-maxabs", w.Select(x => (byte)(sbyte)Math.Clamp(MathF.Round(x / maxAbs * 127), -127, 127)).ToArray());
        }
    }

    private static List<string> FindLeaks(byte[] haystack, List<(string Person, NewTemplate Template)> templates)
    {
        var found = new List<string>();
        foreach (var (person, t) in templates)
            foreach (var (form, pattern) in Leaks(t.Embedding))
                if (haystack.AsSpan().IndexOf(pattern) >= 0) found.Add($"{person} {form}");
        return found;
    }

    [Fact]
    public void CopiedGallery_RevealsNoTemplate_WhileTheSameScanFindsThemInAPlaintextGallery()
    {
        if (RealTemplates() is not { } templates) return;

        // Negative control: the scan must be able to fail. Without a key (tests only) the templates are in clear.
        var plainDir = Path.Combine(_dir, "plain");
        using (var plain = SqliteGalleryStore.Open(Path.Combine(plainDir, "gallery.db"), key: null))
        {
            EnrolAll(plain, templates);
            var bytes = File.ReadAllBytes(Path.Combine(plainDir, "gallery.db")).Concat(File.Exists(Path.Combine(plainDir, "gallery.db-wal")) ? File.ReadAllBytes(Path.Combine(plainDir, "gallery.db-wal")) : []).ToArray();
            var plainLeaks = FindLeaks(bytes, templates);
            output.WriteLine($"plaintext gallery: {plainLeaks.Count} leaking windows found");
            Assert.Contains(plainLeaks, l => l.EndsWith(" float32", StringComparison.Ordinal));
        }

        using var store = SqliteGalleryStore.Open(DbPath, GalleryKey.File(KeyPath));
        Assert.True(store.KeyCreated);
        EnrolAll(store, templates);
        var copied = CopyOffDevice();
        output.WriteLine($"copied {copied.Length} bytes (gallery.db + WAL) while open");
        Assert.Empty(FindLeaks(copied, templates));

        // The store still reads them back exactly.
        foreach (var group in templates.GroupBy(t => t.Person))
            Assert.Equal(group.Select(g => g.Template.Embedding), store.GetTemplates(group.Key).Select(t => t.Embedding));

        // And after a clean close (WAL checkpointed into the main file).
        store.Dispose();
        Assert.Empty(FindLeaks(File.ReadAllBytes(DbPath), templates));
    }

    [Fact]
    public void PlaintextGallery_IsEncryptedInPlace_OnFirstOpenWithAKey()
    {
        if (RealTemplates() is not { } templates) return;
        using (var plain = SqliteGalleryStore.Open(DbPath, key: null)) EnrolAll(plain, templates);
        Assert.NotEmpty(FindLeaks(File.ReadAllBytes(DbPath), templates));

        using (var store = SqliteGalleryStore.Open(DbPath, GalleryKey.File(KeyPath)))
        {
            Assert.Equal(6, store.EncryptedInPlace);
            Assert.Empty(FindLeaks(CopyOffDevice(), templates));
            Assert.Equal(templates.Select(t => t.Template.Embedding), store.ListPersons().SelectMany(p => store.GetTemplates(p.Id)).Select(t => t.Embedding));
        }
        Assert.Empty(FindLeaks(File.ReadAllBytes(DbPath), templates));

        // Without the key the encrypted gallery is refused, not read as garbage.
        var ex = Assert.Throws<InvalidDataException>(() => SqliteGalleryStore.Open(DbPath, key: null));
        Assert.Contains("encrypted", ex.Message);
    }

    [Fact]
    public void WrongOrMissingKey_IsAClearError_AndLosesNothing()
    {
        if (RealTemplates() is not { } templates) return;
        using (var store = SqliteGalleryStore.Open(DbPath, GalleryKey.File(KeyPath))) EnrolAll(store, templates);
        var before = SHA256.HashData(File.ReadAllBytes(DbPath));

        var otherKey = Path.Combine(_dir, "other.key");
        Core.Commands.SecretKeyFile.CreateNew(otherKey, RandomNumberGenerator.GetBytes(32));
        var wrong = Assert.Throws<InvalidDataException>(() => SqliteGalleryStore.Open(DbPath, GalleryKey.File(otherKey)));
        Assert.Contains(otherKey, wrong.Message);
        Assert.Contains("template key file", wrong.Message);

        var missingKey = Path.Combine(_dir, "missing.key");
        var missing = Assert.Throws<InvalidDataException>(() => SqliteGalleryStore.Open(DbPath, GalleryKey.File(missingKey)));
        Assert.Contains(missingKey, missing.Message);
        Assert.Contains("restore", missing.Message);
        Assert.False(File.Exists(missingKey)); // never a fresh key for a gallery that already has encrypted templates

        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(DbPath)));
        using var again = SqliteGalleryStore.Open(DbPath, GalleryKey.File(KeyPath));
        Assert.Equal(3, again.ListPersons().Count);
        Assert.Equal(6, again.ListPersons().Sum(p => again.GetTemplates(p.Id).Count));
    }

    [Fact]
    public void KeyFile_IsCreated0600_AndAnOpenKeyFileIsRefused()
    {
        using (SqliteGalleryStore.Open(DbPath, GalleryKey.File(KeyPath))) { }
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
        File.SetUnixFileMode(KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var ex = Assert.Throws<InvalidDataException>(() => SqliteGalleryStore.Open(DbPath, GalleryKey.File(KeyPath)));
        Assert.Contains(KeyPath, ex.Message);
        Assert.Contains("group or others", ex.Message);
    }

    [Fact]
    public void TemplateMovedToAnotherRow_FailsAuthentication()
    {
        using (var store = SqliteGalleryStore.Open(DbPath, GalleryKey.File(KeyPath)))
        {
            store.Enrol(new PersonEnrolment("mallory", "Mallory"), [new NewTemplate("m", [0.6f, 0.8f], 1)]);
            store.Enrol(new PersonEnrolment("alice", "Alice"), [new NewTemplate("m", [1f, 0f], 1)]);
        }
        // Someone with write access to the file copies Mallory's template into Alice's row.
        using (var c = new SqliteConnection($"Data Source={DbPath};Pooling=false"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE templates SET embedding = (SELECT embedding FROM templates WHERE person_id = 'mallory') WHERE person_id = 'alice'";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        using var reopened = SqliteGalleryStore.Open(DbPath, GalleryKey.File(KeyPath));
        Assert.Equal([0.6f, 0.8f], reopened.GetTemplates("mallory")[0].Embedding);
        var ex = Assert.Throws<InvalidDataException>(() => reopened.GetTemplates("alice"));
        Assert.Contains("failed authentication", ex.Message);
    }

    [Fact]
    public void Delete_LeavesNoTraceOfThePerson_InTheFiles()
    {
        const string name = "Quintessa Vandermolen-Xy";
        using var store = SqliteGalleryStore.Open(DbPath, GalleryKey.File(KeyPath));
        store.Enrol(new PersonEnrolment("keep", "Keeper"), [new NewTemplate("m", [1f, 0f], 1)]);
        var stored = store.Enrol(new PersonEnrolment("qv-7781", name), [new NewTemplate("m", [0f, 1f], 1), new NewTemplate("m", [0.6f, 0.8f], 1)]);
        var sealedBlobs = ReadBlobs().Where(b => b.Person == "qv-7781").Select(b => b.Blob).ToList();
        Assert.Equal(2, sealedBlobs.Count);
        Assert.True(Has(CopyOffDevice(), name), "the scan must see the name while the person is enrolled");

        Assert.True(store.Delete("qv-7781"));
        var after = CopyOffDevice();
        Assert.False(Has(after, name), "the deleted person's name is still in the gallery files");
        Assert.False(Has(after, "qv-7781"), "the deleted person's id is still in the gallery files");
        foreach (var blob in sealedBlobs) Assert.True(after.AsSpan().IndexOf(blob) < 0, "a deleted sealed template is still in the file");
        Assert.Empty(store.GetTemplates("qv-7781"));
        Assert.Single(store.GetTemplates("keep"));
        Assert.NotEmpty(stored.TemplateIds);
    }

    private List<(string Person, byte[] Blob)> ReadBlobs()
    {
        using var c = new SqliteConnection($"Data Source={DbPath};Mode=ReadOnly;Pooling=false");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT person_id, embedding FROM templates";
        using var r = cmd.ExecuteReader();
        var list = new List<(string, byte[])>();
        while (r.Read()) list.Add((r.GetString(0), r.GetFieldValue<byte[]>(1)));
        return list;
    }

    private static bool Has(byte[] haystack, string text) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
