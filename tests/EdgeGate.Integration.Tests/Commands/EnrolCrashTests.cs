using System.Text.Json.Nodes;
using EdgeGate.Storage;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Commands;

/// <summary>
/// "SIGKILL during an enrol → the gallery is consistent on restart (the person fully there or fully absent)": the daemon
/// as a process is killed at random moments while it works on a signed enrol of many images, and the files it leaves
/// are checked directly and through a restarted daemon.
/// </summary>
public sealed class EnrolCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Rounds = 5;
    private const int Images = 8;
    private readonly CommandDaemon _d = new();

    public void Dispose() => _d.Dispose();

    [Fact]
    public void SigkillDuringEnrol_LeavesThePersonFullyThereOrFullyAbsent_AndEveryFileIntact()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        _d.EnsureStarted(output);
        // Two photos known to enrol, repeated: every image is good, so an enrolment that committed has exactly Images templates.
        var photos = new[] { "Angelina_Jolie/9.jpg", "Angelina_Jolie/3.jpg" }.Select(p => CommandDaemon.B64(Path.Combine(faces, "people", p))).ToArray();
        // Mostly the small photo: the images must stay under the fixture's 4 MB payload limit.
        JsonArray Batch() => new(Enumerable.Range(0, Images).Select(i => (JsonNode)photos[i % 4 == 0 ? 1 : 0]!).ToArray());
        // One enrol that is not killed: loads the command worker's models, and says how long an enrol of this size takes
        // here, so the kills can be spread from well before to just after the commit.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        _d.Publish("enrol", _d.Sign("crash-warm", "enrol", new JsonObject { ["id"] = "crash-warm", ["name"] = "Warm", ["images"] = Batch(), ["force"] = true }));
        Assert.True((bool)_d.WaitReply("crash-warm", TimeSpan.FromSeconds(120))["ok"]!);
        var warmMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        _d.Publish("enrol", _d.Sign("crash-timed", "enrol", new JsonObject { ["id"] = "crash-timed", ["name"] = "Timed", ["images"] = Batch(), ["force"] = true }));
        Assert.True((bool)_d.WaitReply("crash-timed", TimeSpan.FromSeconds(120))["ok"]!);
        var enrolMs = clock.Elapsed.TotalMilliseconds;
        output.WriteLine($"an enrol of {Images} images takes {enrolMs:F0} ms here ({Images / clock.Elapsed.TotalSeconds:F1} images/s)");
        var rng = new Random(6_2026);
        var outcomes = new List<string>();
        for (var round = 0; round < Rounds; round++)
        {
            var id = $"crash-{round}";
            var requestId = $"crash-enrol-{round}";
            _d.Publish("enrol", _d.Sign(requestId, "enrol", new JsonObject { ["id"] = id, ["name"] = $"Crash {round}", ["images"] = Batch(), ["force"] = true }));
            // A fresh daemon loads the command worker's models on the first enrol (about the warm-up above) before the
            // timed part; kills land from a third of the way through the images to a little after the commit.
            var delay = TimeSpan.FromMilliseconds(enrolMs * (0.3 + 0.8 * rng.NextDouble()) + (round == 0 ? 0 : Math.Max(0, warmMs - enrolMs)));
            Thread.Sleep(delay);
            _d.Daemon.Signal("KILL");
            _d.Daemon.WaitForExit(TimeSpan.FromSeconds(20));
            var answered = _d.HasReply(requestId);

            // The files as the killed daemon left them (the WAL included), before anything reopens them for writing.
            foreach (var file in new[] { "gallery.db", "events.db", "outbox.db" })
            {
                var path = Path.Combine(_d.StateDirectory, file);
                Assert.True(File.Exists(path), $"{file} is missing after the kill");
                Assert.Equal("ok", IntegrityCheck(path));
            }
            int templates;
            using (var gallery = SqliteGalleryStore.Open(Path.Combine(_d.StateDirectory, "gallery.db"),
                       GalleryKey.File(Path.Combine(_d.StateDirectory, "template.key"), createIfMissing: false)))
            {
                var person = gallery.GetPerson(id);
                templates = person is null ? 0 : gallery.GetTemplates(id).Count;
                Assert.True(templates is 0 or Images, $"round {round}: {id} has {templates} templates (neither 0 nor {Images})");
                Assert.Equal(person is not null, templates == Images);
                if (answered) Assert.Equal(Images, templates); // replied ok ⇒ committed
                // Earlier rounds are untouched by this kill.
                foreach (var earlier in outcomes.Select((o, r) => (o, r)).Where(x => x.o != "absent"))
                    Assert.Equal(Images, gallery.GetTemplates($"crash-{earlier.r}").Count);
            }
            using (SqliteOutbox.Open(Path.Combine(_d.StateDirectory, "outbox.db"), 10_000)) { }
            using (SqliteEventLog.Open(Path.Combine(_d.StateDirectory, "events.db"))) { }
            var outcome = templates == Images ? (answered ? "present (answered)" : "present (killed before the reply)") : "absent";
            outcomes.Add(templates == Images ? "present" : "absent");
            output.WriteLine($"round {round}: killed after {delay.TotalMilliseconds:F0} ms → {outcome}");

            // The restarted daemon opens the same gallery with the same key and serves the person (or not) the same way.
            _d.StartDaemon(output);
            var got = _d.Call("get", new JsonObject { ["id"] = id });
            Assert.Equal(templates == Images, (bool)got["ok"]!);
            if (templates == Images) Assert.Equal(Images, (int)got["result"]!["templates"]!);
        }
        output.WriteLine($"outcomes: {string.Join(", ", outcomes)}");
    }

    private static string IntegrityCheck(string path)
    {
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=false");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA integrity_check";
        return (string)cmd.ExecuteScalar()!;
    }
}
