using System.Text.Json;
using EdgeGate.Core.Access;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Ports;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests.Access;

public class AccessPipelineTests
{
    private const int Dim = 8;
    private static readonly FaceQualityMetrics Good = new(40, 100, 0, 0.5f, 0);
    private static readonly FaceQualityMetrics Tiny = new(8, 100, 0, 0.5f, 0);

    private static float[] Unit(int axis)
    {
        var v = new float[Dim];
        v[axis] = 1;
        return v;
    }

    /// <summary>Cosine 1/√8 ≈ 0.35 to every enrolled axis: below τ_identify, like a stranger.</summary>
    private static float[] Stranger() => Enumerable.Repeat(1 / MathF.Sqrt(Dim), Dim).ToArray();

    private sealed class Rig : IDisposable
    {
        public readonly ManualTime Time = new();
        public readonly FakeFaces Faces = new();
        public readonly FakeDoor Door;
        public readonly Dictionary<string, Person> People = [];
        public readonly GalleryMatcher Matcher = new("m", new MatchOptions(), new ScoreCalibration(29.84, -9.97));
        public readonly AccessPipeline Pipeline;
        public readonly List<AccessDecision> Decisions = [];
        private int _frame;

        public Rig(ILivenessStage? liveness = null, AccessOptions? options = null)
        {
            Door = new FakeDoor(Time);
            Enrol("alice", "Alice", 0);
            Enrol("bob", "Bob", 1);
            Pipeline = new AccessPipeline(Faces, Matcher, new Directory(People), Door, liveness ?? DisabledLiveness.Instance,
                options, time: Time);
        }

        public void Enrol(string id, string name, int axis, bool enabled = true, DateTimeOffset? validUntil = null, WeeklySchedule? schedule = null)
        {
            var now = Time.GetUtcNow();
            People[id] = new Person(id, name, enabled, null, validUntil, now, now, schedule);
            _axisOf[id] = axis;
            Matcher.Load(_axisOf.Select((p, i) => new FaceTemplate(i + 1, p.Key, "m", Unit(p.Value), 1, now)).ToList());
        }

        private readonly Dictionary<string, int> _axisOf = [];

        /// <summary>One frame 100 ms after the last, with these faces in it; returns the decisions made on it.</summary>
        public List<AccessDecision> Frame(params (FaceBox Box, float[] Embedding, FaceQualityMetrics Quality)[] faces)
        {
            Faces.Next = faces;
            using var captured = new CapturedFrame(new BgrFrame(4, 4), _frame, TimeSpan.FromMilliseconds(100 * _frame), Time.GetTimestamp());
            _frame++;
            Time.Advance(TimeSpan.FromMilliseconds(30)); // processing time before decisions
            var made = Pipeline.Process(captured).ToList();
            Time.Advance(TimeSpan.FromMilliseconds(70));
            Decisions.AddRange(made);
            return made;
        }

        public List<AccessDecision> Walk(int frames, float[] embedding, FaceQualityMetrics? quality = null, float x = 100)
        {
            var made = new List<AccessDecision>();
            for (var i = 0; i < frames; i++) made.AddRange(Frame((Box(x + i), embedding, quality ?? Good)));
            return made;
        }

        public List<AccessDecision> Empty(int frames)
        {
            var made = new List<AccessDecision>();
            for (var i = 0; i < frames; i++) made.AddRange(Frame());
            return made;
        }

        public void Dispose() => Pipeline.Dispose();
    }

    private static FaceBox Box(float x) => new(x, 50, x + 80, 150, 0.95f);

    private sealed class Directory(Dictionary<string, Person> people) : IPersonDirectory
    {
        public Person? Find(string personId) => people.GetValueOrDefault(personId);
    }

    private sealed class FakeFaces : IFaceAnalyzer
    {
        private readonly Dictionary<FaceObservation, float[]> _embeddings = [];
        public (FaceBox Box, float[] Embedding, FaceQualityMetrics Quality)[] Next { get; set; } = [];
        public int Embeds { get; private set; }
        public FaceQualityOptions QualityOptions { get; } = new();

        public IReadOnlyList<FaceObservation> Observe(BgrFrame frame)
        {
            _embeddings.Clear();
            var list = new List<FaceObservation>();
            foreach (var (box, embedding, quality) in Next)
            {
                var face = new FaceObservation(box, new PointF[68], default, Affine.Identity, new byte[3], quality);
                _embeddings[face] = embedding;
                list.Add(face);
            }
            return list;
        }

        public ReadOnlySpan<float> Embed(FaceObservation face)
        {
            Embeds++;
            return _embeddings[face];
        }
    }

    private sealed class FakeDoor(TimeProvider time) : IDoorActuator
    {
        public List<string> Opens { get; } = [];
        public Exception? Fault { get; set; }

        public long Open(string cause)
        {
            if (Fault is not null) throw Fault;
            Opens.Add(cause);
            return time.GetTimestamp();
        }
    }

    private sealed class ScriptedLiveness(Func<TimeSpan, LivenessVerdict> verdict) : ILivenessStage
    {
        public Func<TimeSpan, LivenessVerdict> Verdict { get; } = verdict;
        public int Observed { get; private set; }
        public int Disposed { get; private set; }

        public ILivenessSession Begin(long trackId, TimeSpan startedAt) => new Session(this, startedAt);

        private sealed class Session(ScriptedLiveness owner, TimeSpan started) : ILivenessSession
        {
            public void Observe(CapturedFrame frame, FaceObservation face) => owner.Observed++;
            public LivenessVerdict Evaluate(TimeSpan now) => owner.Verdict(now - started);
            public void Dispose() => owner.Disposed++;
        }
    }

    [Fact]
    public void EnrolledPerson_IsGrantedOnce_WithOnePulse_AndLatencyFromTheFirstFrame()
    {
        using var rig = new Rig();
        rig.Walk(10, Unit(0));
        var d = Assert.Single(rig.Decisions);
        Assert.True(d.Granted);
        Assert.Null(d.Reason);
        Assert.Equal("alice", d.Person?.Id);
        Assert.Equal(LivenessState.Disabled, d.Liveness.State);
        Assert.Equal(1f, d.Similarity!.Value, 4);
        Assert.Equal(["granted:alice"], rig.Door.Opens);
        // First frame arrived at t0, processing took 30 ms before the door was opened on that same frame.
        Assert.Equal(30, d.LatencyMs, 3);
        Assert.Equal(1, rig.Faces.Embeds); // decided tracks are not embedded again
    }

    [Fact]
    public void Stranger_IsDeniedUnknown_AfterThreeGoodFaces_WithoutAPulse_AndWithoutAName()
    {
        using var rig = new Rig();
        var made = rig.Walk(2, Stranger());
        Assert.Empty(made);
        rig.Walk(5, Stranger());
        var d = Assert.Single(rig.Decisions);
        Assert.False(d.Granted);
        Assert.Equal("unknown", d.ReasonName);
        Assert.Null(d.Person);
        Assert.Equal(3, d.FacesEmbedded);
        Assert.Empty(rig.Door.Opens);
    }

    [Fact]
    public void FaceThatNeverPassesTheGate_IsDeniedLowQuality_AndNeverEmbedded()
    {
        using var rig = new Rig();
        rig.Walk(30, Unit(0), Tiny);
        var d = Assert.Single(rig.Decisions);
        Assert.Equal("low_quality", d.ReasonName);
        Assert.Contains("eye distance", d.Detail);
        Assert.Equal(0, rig.Faces.Embeds);
        Assert.Empty(rig.Door.Opens);
    }

    [Fact]
    public void APersonWhoGetsCloser_IsGrantedOnceTheFaceIsGoodEnough()
    {
        using var rig = new Rig();
        rig.Walk(5, Unit(0), Tiny);
        Assert.Empty(rig.Decisions);
        rig.Frame((Box(106), Unit(0), Good));
        Assert.True(Assert.Single(rig.Decisions).Granted);
    }

    [Fact]
    public void DisabledPerson_IsNotAuthorised_AndExpiredPerson_IsOutsideValidity()
    {
        using var rig = new Rig();
        rig.Enrol("carol", "Carol", 2, enabled: false);
        rig.Enrol("dave", "Dave", 3, validUntil: rig.Time.GetUtcNow().AddDays(-1));
        rig.Walk(3, Unit(2));
        rig.Empty(15);
        rig.Walk(3, Unit(3));
        Assert.Equal(["not_authorised", "outside_validity"], rig.Decisions.Select(d => d.ReasonName));
        Assert.Equal(["carol", "dave"], rig.Decisions.Select(d => d.Person?.Id));
        Assert.Empty(rig.Door.Opens);
    }

    [Fact]
    public void KnownPersonOutsideTheirSchedule_IsDenied_InTheSiteTimeZone()
    {
        // The rig's clock: Sunday 2026-11-22 08:00 UTC = 09:00 in Berlin, 03:00 in New York.
        static WeeklySchedule Schedule(string json) => WeeklySchedule.FromJson(json);
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        using var rig = new Rig(options: new AccessOptions { TimeZone = berlin });
        rig.Enrol("erin", "Erin", 2, schedule: Schedule("""{"mon":["08:00-18:00"],"sun":["10:00-18:00"]}"""));
        rig.Enrol("finn", "Finn", 3, schedule: Schedule("""{"sat":["22:00-10:00"]}"""));
        rig.Walk(3, Unit(2));
        rig.Empty(15);
        rig.Walk(3, Unit(3));
        Assert.Equal([false, true], rig.Decisions.Select(d => d.Granted));
        Assert.Equal(["outside_schedule", null], rig.Decisions.Select(d => d.ReasonName));
        Assert.Contains("sun 09:00 Europe/Berlin", rig.Decisions[0].Detail);
        Assert.Equal("erin", rig.Decisions[0].Person?.Id);
        Assert.Single(rig.Door.Opens);

        // The same people and instant in New York (03:00 Sunday): Finn's Saturday night still holds, Erin's does not.
        using var ny = new Rig(options: new AccessOptions { TimeZone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York") });
        ny.Enrol("erin", "Erin", 2, schedule: Schedule("""{"sun":["03:00-04:00"]}"""));
        ny.Walk(3, Unit(2));
        Assert.True(Assert.Single(ny.Decisions).Granted);
    }

    [Fact]
    public void SamePersonAgainWithinCooldown_GetsNoSecondPulse_ButAfterItDoes()
    {
        using var rig = new Rig(options: new AccessOptions { Cooldown = TimeSpan.FromSeconds(5) });
        rig.Walk(3, Unit(0));
        rig.Empty(12); // 1.2 s: the track ends, a new one starts
        rig.Walk(3, Unit(0));
        Assert.Single(rig.Door.Opens);
        Assert.Equal(1, rig.Pipeline.SuppressedByCooldown);
        rig.Empty(50);
        rig.Walk(3, Unit(0));
        Assert.Equal(2, rig.Door.Opens.Count);
        Assert.Equal(2, rig.Decisions.Count(d => d.Granted));
    }

    [Fact]
    public void TwoPeopleAtOnce_EachGetTheirOwnDecision()
    {
        using var rig = new Rig();
        for (var i = 0; i < 5; i++)
            rig.Frame((Box(10 + i), Unit(0), Good), (Box(300 + i), Stranger(), Good));
        Assert.Equal(2, rig.Decisions.Count);
        Assert.Contains(rig.Decisions, d => d.Granted && d.Person?.Id == "alice");
        Assert.Contains(rig.Decisions, d => d.ReasonName == "unknown");
        Assert.Single(rig.Door.Opens);
    }

    [Fact]
    public void BriefFlicker_MakesNoEvent_ButAStrangerWhoLeavesEarly_IsStillReported()
    {
        using var rig = new Rig();
        rig.Walk(1, Unit(0), Tiny);
        rig.Empty(15);
        Assert.Empty(rig.Decisions);
        rig.Walk(5, Stranger(), x: 300, quality: Tiny);
        rig.Walk(1, Stranger(), x: 305);
        rig.Empty(15);
        var d = Assert.Single(rig.Decisions);
        Assert.Equal("unknown", d.ReasonName);
        Assert.Equal("left before a match", d.Detail);
    }

    [Fact]
    public void LivenessPending_HoldsTheGrant_UntilLive()
    {
        var liveness = new ScriptedLiveness(age => age < TimeSpan.FromMilliseconds(450)
            ? LivenessVerdict.Pending
            : new LivenessVerdict(LivenessState.Live, 0.97, [new LivenessCheckResult("blink", 1, true)]));
        using var rig = new Rig(liveness);
        rig.Walk(4, Unit(0));
        Assert.Empty(rig.Decisions);
        rig.Walk(3, Unit(0), x: 104);
        var d = Assert.Single(rig.Decisions);
        Assert.True(d.Granted);
        Assert.Equal(LivenessState.Live, d.Liveness.State);
        Assert.Equal(1, rig.Faces.Embeds); // identity settled once; liveness kept observing
        Assert.True(liveness.Observed >= 5);
    }

    [Fact]
    public void LivenessSpoof_IsDeniedSpoof_AndTimeout_IsLivenessTimeout()
    {
        var spoof = new ScriptedLiveness(_ => new LivenessVerdict(LivenessState.Spoof, 0.1, [new LivenessCheckResult("passive", 0.1, false)]));
        using (var rig = new Rig(spoof))
        {
            rig.Walk(5, Unit(0));
            var d = Assert.Single(rig.Decisions);
            Assert.Equal("spoof", d.ReasonName);
            Assert.Empty(rig.Door.Opens);
        }
        var slow = new ScriptedLiveness(age => age < TimeSpan.FromSeconds(2) ? LivenessVerdict.Pending : new LivenessVerdict(LivenessState.Timeout, null, []));
        using (var rig = new Rig(slow))
        {
            rig.Walk(30, Unit(0));
            var d = Assert.Single(rig.Decisions);
            Assert.Equal("liveness_timeout", d.ReasonName);
            Assert.Equal("alice", d.Person?.Id);
            Assert.Empty(rig.Door.Opens);
        }
    }

    [Fact]
    public void RelayFault_IsReportedAsDoorFault_NotAsGranted()
    {
        using var rig = new Rig();
        rig.Door.Fault = new IOException("line busy");
        rig.Walk(3, Unit(0));
        var d = Assert.Single(rig.Decisions);
        Assert.False(d.Granted);
        Assert.Equal("door_fault", d.ReasonName);
        Assert.Contains("line busy", d.Detail);
    }

    [Fact]
    public void Flush_DecidesTracksStillInView()
    {
        using var rig = new Rig();
        rig.Walk(5, Stranger(), Tiny);
        Assert.Empty(rig.Decisions);
        var flushed = rig.Pipeline.Flush();
        Assert.Equal("low_quality", Assert.Single(flushed).ReasonName);
    }

    [Fact]
    public void EventJson_CarriesTheContractFields()
    {
        using var rig = new Rig();
        rig.Walk(3, Unit(0));
        using var doc = JsonDocument.Parse(EventJson.Access(rig.Decisions[0], "gate-1"));
        var root = doc.RootElement;
        Assert.True(Guid.TryParse(root.GetProperty("event_id").GetString(), out _));
        Assert.Equal("gate-1", root.GetProperty("device").GetString());
        Assert.Equal("granted", root.GetProperty("decision").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("reason").ValueKind);
        Assert.Equal("alice", root.GetProperty("person").GetProperty("id").GetString());
        Assert.Equal("Alice", root.GetProperty("person").GetProperty("name").GetString());
        Assert.Equal("disabled", root.GetProperty("liveness").GetString());
        Assert.True(root.GetProperty("p_same").GetDouble() > 0.99);
        Assert.Equal(30, root.GetProperty("latency_ms").GetDouble());
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("ts").GetString(), out _));

        rig.Empty(15);
        rig.Walk(4, Stranger());
        using var denied = JsonDocument.Parse(EventJson.Access(rig.Decisions[1], "gate-1"));
        Assert.Equal("unknown", denied.RootElement.GetProperty("reason").GetString());
        Assert.False(denied.RootElement.TryGetProperty("person", out _));
    }

    /// <summary>cos = 0.5 to alice: above τ_identify (0.45), below ConfirmBelow (0.55), far from everyone else.</summary>
    private static float[] BorderlineAlice()
    {
        var v = new float[Dim];
        v[0] = 0.5f;
        v[7] = MathF.Sqrt(0.75f);
        return v;
    }

    [Fact]
    public void BorderlineMatch_OpensOnlyWhenASecondFrameNamesTheSamePerson()
    {
        using var rig = new Rig();
        rig.Frame((Box(100), BorderlineAlice(), Good));
        Assert.Empty(rig.Decisions);
        rig.Frame((Box(101), Stranger(), Good)); // breaks the streak
        rig.Frame((Box(102), BorderlineAlice(), Good));
        Assert.Empty(rig.Decisions);
        rig.Frame((Box(103), BorderlineAlice(), Good));
        var d = Assert.Single(rig.Decisions);
        Assert.True(d.Granted);
        Assert.Equal(0.5f, d.Similarity!.Value, 3);
        Assert.Single(rig.Door.Opens);
    }

    [Fact]
    public void BorderlineMatch_NeverConfirmed_IsUnknown()
    {
        using var rig = new Rig();
        rig.Frame((Box(100), BorderlineAlice(), Good));
        rig.Frame((Box(101), Stranger(), Good));
        rig.Frame((Box(102), Stranger(), Good));
        var d = Assert.Single(rig.Decisions);
        Assert.Equal("unknown", d.ReasonName);
        Assert.Null(d.Person);
        Assert.Empty(rig.Door.Opens);
    }

    [Fact]
    public void Options_Validate_NamesTheKey()
    {
        var errors = new AccessOptions { UnknownAfterEmbeddings = 0, Cooldown = TimeSpan.FromSeconds(-1) }.Validate().ToList();
        Assert.Contains(errors, e => e.StartsWith("EdgeGate:Access:UnknownAfterEmbeddings"));
        Assert.Contains(errors, e => e.StartsWith("EdgeGate:Access:Cooldown"));
    }
}

