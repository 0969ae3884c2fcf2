using EdgeGate.Core.Faces;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Access;

/// <summary>
/// What the pipeline needs from the face engine; <see cref="FaceEngine"/> implements it. Built for the per-frame path:
/// the results live in buffers the analyzer reuses, so a frame allocates nothing.
/// </summary>
public interface IFaceAnalyzer
{
    FaceQualityOptions QualityOptions { get; }

    /// <summary>The faces in the frame, most visible first. The list and its observations are overwritten by the next call.</summary>
    IReadOnlyList<FaceObservation> Observe(Frames.BgrFrame frame);

    /// <summary>The face's unit embedding, valid until the next call.</summary>
    ReadOnlySpan<float> Embed(FaceObservation face);
}

public sealed record AccessOptions
{
    /// <summary>Good (gate-passing) faces that must fail to match before a track is denied as unknown.</summary>
    public int UnknownAfterEmbeddings { get; init; } = 3;

    /// <summary>Stream time after which a track with at least one good face and no match is denied as unknown.</summary>
    public TimeSpan DecisionBudget { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Stream time a face may be seen without one gate-passing frame before it is denied as low quality.</summary>
    public TimeSpan LowQualityAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Tracks shorter than this that leave undecided make no event: detector flicker, a face crossing the frame.</summary>
    public TimeSpan MinTrackAge { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>After a grant, the same person is not granted again (no event, no pulse) for this long.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A match whose similarity is below this must be confirmed by a second frame naming the same person before the door
    /// opens: one borderline frame (motion blur, a look-alike at an angle) is not enough, while a clear match (most
    /// genuine frames score 0.6–0.95) still opens on the first frame.
    /// </summary>
    public float ConfirmBelow { get; init; } = 0.55f;

    /// <summary>Embeddings per frame at most (largest faces first): each costs tens of ms on a Pi.</summary>
    public int MaxEmbeddingsPerFrame { get; init; } = 2;

    /// <summary>The site's time zone: people's weekly schedules are wall-clock times in it (<c>EdgeGate:Site:TimeZone</c>).</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Local;

    public IEnumerable<string> Validate(string prefix = "EdgeGate:Access")
    {
        if (UnknownAfterEmbeddings < 1) yield return $"{prefix}:UnknownAfterEmbeddings must be at least 1";
        if (DecisionBudget <= TimeSpan.Zero) yield return $"{prefix}:DecisionBudget must be positive";
        if (LowQualityAfter <= TimeSpan.Zero) yield return $"{prefix}:LowQualityAfter must be positive";
        if (MinTrackAge < TimeSpan.Zero) yield return $"{prefix}:MinTrackAge must not be negative";
        if (Cooldown < TimeSpan.Zero) yield return $"{prefix}:Cooldown must not be negative";
        if (MaxEmbeddingsPerFrame < 1) yield return $"{prefix}:MaxEmbeddingsPerFrame must be at least 1";
        if (ConfirmBelow is < -1 or > 1) yield return $"{prefix}:ConfirmBelow must be a cosine similarity in -1..1";
    }
}

/// <summary>Per-frame figures for telemetry.</summary>
public readonly record struct FrameStats(int Faces, int Embedded, double ProcessingMs);

/// <summary>
/// detect → track → quality gate → liveness → embed → match → decide → door, one decision per track.
/// Single-threaded: call from the one pipeline thread. Track budgets use stream time, so a file replayed fast
/// decides exactly as in real time; latency and cooldown use the <see cref="TimeProvider"/>'s clock.
/// </summary>
public sealed class AccessPipeline : IDisposable
{
    private readonly IFaceAnalyzer _faces;
    private readonly GalleryMatcher _matcher;
    private readonly IPersonDirectory _people;
    private readonly IDoorActuator _door;
    private readonly ILivenessStage _liveness;
    private readonly AccessOptions _options;
    private readonly TimeProvider _time;
    private readonly FaceTracker _tracker;
    private readonly Dictionary<long, TrackState> _states = [];
    private readonly Dictionary<string, long> _lastGrant = [];
    private readonly List<FaceTrack> _ended = [];
    private readonly List<AccessDecision> _decisions = [];
    private readonly List<FaceBox> _boxes = [];
    private readonly List<FaceTrack> _frameTracks = [];

    public AccessPipeline(IFaceAnalyzer faces, GalleryMatcher matcher, IPersonDirectory people, IDoorActuator door,
        ILivenessStage liveness, AccessOptions? options = null, TrackerOptions? tracker = null, TimeProvider? time = null)
    {
        _faces = faces; _matcher = matcher; _people = people; _door = door; _liveness = liveness;
        _options = options ?? new AccessOptions();
        var errors = _options.Validate().ToList();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(options));
        _tracker = new FaceTracker(tracker);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Grants suppressed by the cooldown since start.</summary>
    public long SuppressedByCooldown { get; private set; }

    public FrameStats LastFrame { get; private set; }

    /// <summary>Runs one frame through the stages. The returned list is reused by the next call.</summary>
    public IReadOnlyList<AccessDecision> Process(CapturedFrame frame)
    {
        var start = _time.GetTimestamp();
        _decisions.Clear();
        var faces = _faces.Observe(frame.Image);
        _boxes.Clear();
        for (var i = 0; i < faces.Count; i++) _boxes.Add(faces[i].Box);
        _ended.Clear();
        _tracker.Update(_boxes, frame.StreamTime, frame.ArrivedTimestamp, _ended, _frameTracks);
        var tracks = _frameTracks;
        var now = frame.StreamTime;
        var embedded = 0;
        // Observe() sorts faces most visible first, so the person nearest the door gets the embedding budget.
        for (var i = 0; i < faces.Count; i++)
        {
            var track = tracks[i];
            if (!_states.TryGetValue(track.Id, out var state))
            {
                state = new TrackState(track, _liveness.Begin(track.Id, now));
                _states[track.Id] = state;
            }
            if (state.Decided) continue;
            var face = faces[i];
            state.Liveness.Observe(frame, face);
            // Peek on every frame; the full verdict (per-check details for the event) only when deciding.
            if (state.Liveness.Peek(now) == LivenessState.Spoof)
            {
                Decide(state, DenyReason.Spoof, state.Liveness.Evaluate(now), "a liveness check failed");
                continue;
            }
            if (state.Match is null)
            {
                if (_faces.QualityOptions.Check(face.Quality) is { } problem)
                {
                    state.LastRejection = problem;
                }
                else if (embedded < _options.MaxEmbeddingsPerFrame)
                {
                    embedded++;
                    Identify(state, _faces.Embed(face));
                }
            }
            TryDecide(state, now);
        }
        foreach (var track in _ended) EndTrack(track);
        LastFrame = new FrameStats(faces.Count, embedded, _time.GetElapsedTime(start).TotalMilliseconds);
        return _decisions;
    }

    /// <summary>Ends every track (end of stream, camera restart): undecided tracks old enough get their decision now.</summary>
    public IReadOnlyList<AccessDecision> Flush()
    {
        _decisions.Clear();
        _ended.Clear();
        _tracker.EndAll(_ended);
        foreach (var track in _ended) EndTrack(track);
        return _decisions;
    }

    private void Identify(TrackState state, ReadOnlySpan<float> embedding)
    {
        state.Embedded++;
        var result = _matcher.Identify(embedding);
        if (result.Best is { } best && (state.Best is null || best.Similarity > state.Best.Similarity)) state.Best = best;
        if (result.Outcome == IdentifyOutcome.Recognised)
        {
            var candidate = result.Best!;
            if (candidate.Similarity >= _options.ConfirmBelow || state.Pending?.PersonId == candidate.PersonId)
            {
                state.Match = candidate;
                state.Best = candidate.Similarity >= (state.Pending?.Similarity ?? float.MinValue) ? candidate : state.Pending;
            }
            else state.Pending = candidate;
            return;
        }
        // Any frame that does not name the pending person resets the confirmation.
        state.Pending = null;
        if (result.Outcome == IdentifyOutcome.Ambiguous) state.Ambiguous++;
    }

    private void TryDecide(TrackState state, TimeSpan now)
    {
        LivenessVerdict Verdict() => state.Liveness.Evaluate(now);
        var age = now - state.Track.FirstSeen;
        if (state.Match is { } match)
        {
            var person = _people.Find(match.PersonId);
            if (person is null)
            {
                // Deleted between the matcher's load and now: treat as a stranger rather than open for a ghost.
                Decide(state, DenyReason.Unknown, Verdict(), "matched a person no longer in the gallery");
                return;
            }
            state.Person = person;
            if (!person.Enabled) { Decide(state, DenyReason.NotAuthorised, Verdict(), "access disabled"); return; }
            if (!person.IsValidAt(_time.GetUtcNow())) { Decide(state, DenyReason.OutsideValidity, Verdict(), ValidityText(person)); return; }
            if (person.Schedule is { } schedule && _time.GetUtcNow() is var at && !schedule.Allows(at, _options.TimeZone))
            {
                Decide(state, DenyReason.OutsideSchedule, Verdict(), ScheduleText(schedule, at, _options.TimeZone));
                return;
            }
            switch (state.Liveness.Peek(now))
            {
                case LivenessState.Disabled or LivenessState.Live:
                    Grant(state, person, Verdict());
                    return;
                case LivenessState.Timeout:
                    Decide(state, DenyReason.LivenessTimeout, Verdict(), "liveness not established in time");
                    return;
                default:
                    return; // Pending: the identity is settled; wait for liveness.
            }
        }
        // A borderline match awaiting its confirming frame gets that frame before the face is called unknown.
        if ((state.Embedded >= _options.UnknownAfterEmbeddings && state.Pending is null) || (state.Embedded > 0 && age >= _options.DecisionBudget))
        {
            Decide(state, DenyReason.Unknown, Verdict(), state.Ambiguous > 0 ? "too close to two enrolled people" : null);
            return;
        }
        if (state.Embedded == 0 && age >= _options.LowQualityAfter)
            Decide(state, DenyReason.LowQuality, Verdict(), state.LastRejection?.Detail);
    }

    private void EndTrack(FaceTrack track)
    {
        if (!_states.Remove(track.Id, out var state)) return;
        try
        {
            if (state.Decided || track.Age < _options.MinTrackAge) return;
            var verdict = state.Liveness.Evaluate(track.LastSeen);
            if (state.Match is not null)
            {
                // Recognised but liveness never settled before the person left.
                Decide(state, verdict.State == LivenessState.Spoof ? DenyReason.Spoof : DenyReason.LivenessTimeout, verdict,
                    "left before liveness was established");
            }
            else if (state.Embedded > 0) Decide(state, DenyReason.Unknown, verdict, "left before a match");
            else Decide(state, DenyReason.LowQuality, verdict, state.LastRejection?.Detail ?? "no usable face before leaving");
        }
        finally
        {
            state.Liveness.Dispose();
        }
    }

    private void Grant(TrackState state, Person person, LivenessVerdict verdict)
    {
        var nowTs = _time.GetTimestamp();
        if (_lastGrant.TryGetValue(person.Id, out var last) && _time.GetElapsedTime(last, nowTs) < _options.Cooldown)
        {
            // Same person still at the door (a new track after a turn of the head): the door is already open for them.
            state.Decided = true;
            SuppressedByCooldown++;
            return;
        }
        long energised;
        try
        {
            energised = _door.Open($"granted:{person.Id}");
        }
        catch (Exception e)
        {
            Decide(state, DenyReason.DoorFault, verdict, $"relay could not be driven: {e.Message}");
            return;
        }
        _lastGrant[person.Id] = energised;
        Emit(state, granted: true, reason: null, verdict, null, energised);
    }

    private void Decide(TrackState state, DenyReason reason, LivenessVerdict verdict, string? detail) =>
        Emit(state, granted: false, reason, verdict, detail, _time.GetTimestamp());

    private void Emit(TrackState state, bool granted, DenyReason? reason, LivenessVerdict verdict, string? detail, long at)
    {
        state.Decided = true;
        var best = state.Match ?? state.Best;
        // Only a recognised person is named; for strangers the best candidate's score is kept but not who it was.
        var person = state.Match is not null ? state.Person : null;
        _decisions.Add(new AccessDecision(
            Guid.CreateVersion7(_time.GetUtcNow()), _time.GetUtcNow(), state.Track.Id, granted, reason, person,
            best?.Similarity, best?.PSame, verdict,
            _time.GetElapsedTime(state.Track.FirstArrivedTimestamp, at).TotalMilliseconds,
            state.Track.Frames, state.Embedded, detail));
    }

    private static string ScheduleText(WeeklySchedule schedule, DateTimeOffset now, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone);
        return $"{WeeklySchedule.DayNames[(int)local.DayOfWeek]} {local:HH:mm} {zone.Id} is outside the schedule {schedule.ToJson()}";
    }

    private static string ValidityText(Person p) =>
        $"valid {(p.ValidFrom is { } f ? f.ToString("u") : "-")} to {(p.ValidUntil is { } u ? u.ToString("u") : "-")}";

    public void Dispose()
    {
        foreach (var s in _states.Values) s.Liveness.Dispose();
        _states.Clear();
    }

    private sealed class TrackState(FaceTrack track, ILivenessSession liveness)
    {
        public FaceTrack Track { get; } = track;
        public ILivenessSession Liveness { get; } = liveness;
        public bool Decided { get; set; }
        public int Embedded { get; set; }
        public int Ambiguous { get; set; }
        public Candidate? Match { get; set; }

        /// <summary>A borderline match waiting for a second frame that names the same person.</summary>
        public Candidate? Pending { get; set; }
        public Candidate? Best { get; set; }
        public Person? Person { get; set; }
        public (FaceRejection Reason, string Detail)? LastRejection { get; set; }
    }
}
