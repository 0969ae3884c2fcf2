using System.Numerics.Tensors;

namespace EdgeGate.Core.Gallery;

/// <summary>Operating points of the matcher. Defaults and how they were chosen: README, "Thresholds".</summary>
public sealed record MatchOptions
{
    /// <summary>1:1: accept a claimed identity when the best template's cosine similarity reaches this.</summary>
    public float VerifyThreshold { get; init; } = 0.40f;

    /// <summary>
    /// 1:N: a stricter bar than 1:1, because each of the K enrolled people is another chance of a false match.
    /// </summary>
    public float IdentifyThreshold { get; init; } = 0.45f;

    /// <summary>1:N: the best person must beat the second-best person by this much, or the face is "not recognised".</summary>
    public float IdentifyMargin { get; init; } = 0.05f;

    public void Validate()
    {
        if (VerifyThreshold is < -1 or > 1) throw new ArgumentOutOfRangeException(nameof(VerifyThreshold), VerifyThreshold, "must be a cosine in [-1,1]");
        if (IdentifyThreshold is < -1 or > 1) throw new ArgumentOutOfRangeException(nameof(IdentifyThreshold), IdentifyThreshold, "must be a cosine in [-1,1]");
        if (IdentifyMargin is < 0 or > 2) throw new ArgumentOutOfRangeException(nameof(IdentifyMargin), IdentifyMargin, "must be in [0,2]");
    }
}

public sealed record VerifyResult(string PersonId, bool Match, float Similarity, float PSame, int TemplatesCompared);

public enum IdentifyOutcome
{
    Recognised,
    /// <summary>Best score below the identification threshold: a stranger.</summary>
    BelowThreshold,
    /// <summary>Two people scored too close to tell apart: better no name than the wrong one.</summary>
    Ambiguous,
    /// <summary>Nobody is enrolled for this model.</summary>
    EmptyGallery,
}

public sealed record Candidate(string PersonId, float Similarity, float PSame);

public sealed record IdentifyResult(IdentifyOutcome Outcome, Candidate? Best, Candidate? Runner)
{
    public string? PersonId => Outcome == IdentifyOutcome.Recognised ? Best?.PersonId : null;
}

/// <summary>
/// 1:1 and 1:N matching of unit embeddings against the gallery's templates of one model. Templates are held in one
/// contiguous row-major matrix so a search is a run of SIMD dot products. Thread-safe: a search reads an immutable
/// snapshot; <see cref="Load"/> swaps in a new one.
/// </summary>
public sealed class GalleryMatcher
{
    private readonly MatchOptions _options;
    private readonly ScoreCalibration _calibration;
    private volatile Snapshot _snapshot = Snapshot.Empty;

    public GalleryMatcher(string modelId, MatchOptions options, ScoreCalibration calibration)
    {
        options.Validate();
        ModelId = modelId;
        _options = options;
        _calibration = calibration;
    }

    public string ModelId { get; }
    public MatchOptions Options => _options;
    public ScoreCalibration Calibration => _calibration;
    public int TemplateCount => _snapshot.PersonOf.Length;
    public int PersonCount => _snapshot.PersonIds.Length;

    /// <summary>Replaces the index. Templates of other models are refused: their vectors live in another space.</summary>
    public void Load(IEnumerable<FaceTemplate> templates)
    {
        var list = templates.ToList();
        var foreign = list.FirstOrDefault(t => t.ModelId != ModelId);
        if (foreign is not null)
            throw new ArgumentException($"template {foreign.Id} of {foreign.PersonId} was made by {foreign.ModelId}, not {ModelId}");
        var dim = list.Count == 0 ? 0 : list[0].Embedding.Length;
        if (list.Any(t => t.Embedding.Length != dim)) throw new ArgumentException("templates differ in dimension");
        var personIds = list.Select(t => t.PersonId).Distinct(StringComparer.Ordinal).ToArray();
        var index = personIds.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);
        var matrix = new float[list.Count * dim];
        var personOf = new int[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            list[i].Embedding.CopyTo(matrix, i * dim);
            personOf[i] = index[list[i].PersonId];
        }
        _snapshot = new Snapshot(dim, matrix, personOf, personIds);
    }

    /// <summary>Two faces, no gallery: same person or not.</summary>
    public (bool Match, float Similarity, float PSame) Compare(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var s = Faces.Embeddings.Cosine(a, b);
        return (s >= _options.VerifyThreshold, s, _calibration.Probability(s));
    }

    /// <summary>1:1 against a claimed person's best template.</summary>
    public VerifyResult Verify(ReadOnlySpan<float> probe, string personId)
    {
        var snap = _snapshot;
        var pIndex = Array.IndexOf(snap.PersonIds, personId);
        var best = float.NegativeInfinity;
        var n = 0;
        if (pIndex >= 0)
        {
            CheckDimension(snap, probe);
            for (var t = 0; t < snap.PersonOf.Length; t++)
            {
                if (snap.PersonOf[t] != pIndex) continue;
                best = MathF.Max(best, TensorPrimitives.Dot(probe, snap.Row(t)));
                n++;
            }
        }
        if (n == 0) return new VerifyResult(personId, false, float.NaN, 0, 0);
        return new VerifyResult(personId, best >= _options.VerifyThreshold, best, _calibration.Probability(best), n);
    }

    /// <summary>1:N: the best person by their best template, only if above the bar and clear of the runner-up.</summary>
    public IdentifyResult Identify(ReadOnlySpan<float> probe)
    {
        var snap = _snapshot;
        if (snap.PersonOf.Length == 0) return new IdentifyResult(IdentifyOutcome.EmptyGallery, null, null);
        CheckDimension(snap, probe);
        var perPerson = new float[snap.PersonIds.Length];
        Array.Fill(perPerson, float.NegativeInfinity);
        for (var t = 0; t < snap.PersonOf.Length; t++)
        {
            var s = TensorPrimitives.Dot(probe, snap.Row(t));
            ref var slot = ref perPerson[snap.PersonOf[t]];
            if (s > slot) slot = s;
        }
        int first = -1, second = -1;
        for (var p = 0; p < perPerson.Length; p++)
        {
            if (first < 0 || perPerson[p] > perPerson[first]) { second = first; first = p; }
            else if (second < 0 || perPerson[p] > perPerson[second]) second = p;
        }
        var best = ToCandidate(snap, first, perPerson);
        var runner = second >= 0 ? ToCandidate(snap, second, perPerson) : null;
        IdentifyOutcome outcome;
        if (best.Similarity < _options.IdentifyThreshold) outcome = IdentifyOutcome.BelowThreshold;
        else if (runner is not null && best.Similarity - runner.Similarity < _options.IdentifyMargin) outcome = IdentifyOutcome.Ambiguous;
        else outcome = IdentifyOutcome.Recognised;
        return new IdentifyResult(outcome, best, runner);
    }

    private Candidate ToCandidate(Snapshot snap, int p, float[] scores) =>
        new(snap.PersonIds[p], scores[p], _calibration.Probability(scores[p]));

    private static void CheckDimension(Snapshot snap, ReadOnlySpan<float> probe)
    {
        if (probe.Length != snap.Dimension)
            throw new ArgumentException($"probe has {probe.Length} dimensions, gallery has {snap.Dimension}");
    }

    private sealed record Snapshot(int Dimension, float[] Matrix, int[] PersonOf, string[] PersonIds)
    {
        public static readonly Snapshot Empty = new(0, [], [], []);
        public ReadOnlySpan<float> Row(int t) => Matrix.AsSpan(t * Dimension, Dimension);
    }
}
