using System.Buffers;
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

/// <summary>Which form of the template matrix the 1:N search scans.</summary>
public enum SearchPrecision
{
    /// <summary>The float rows below <see cref="GalleryMatcher.QuantizedFrom"/> templates, the int8 pre-pass from there on.</summary>
    Auto,
    /// <summary>Every row's float dot product.</summary>
    Float,
    /// <summary>Int8 dot products for every row, then the float rows only of those that could be best or second-best.</summary>
    Int8,
}

/// <summary>
/// 1:1 and 1:N matching of unit embeddings against the gallery's templates of one model. Templates live in one
/// contiguous row-major float matrix of L2-normalised rows (one row per template, a person index per row), and in an
/// int8 copy with one scale and one rounding-error norm per row. A 1:N search is a run of SIMD dot products; on large
/// galleries it scans the int8 rows first and computes the float dot product only for rows whose error bound still
/// reaches the second-best person, so the best and second-best <em>person</em> and their scores are exact either way.
/// Enrolment and deletion change rows in place (append; swap-remove with the last row), never rebuilding the matrix.
/// Thread-safe: searches share a read lock, changes take the write lock.
/// </summary>
public sealed class GalleryMatcher
{
    /// <summary>Below this many templates the float scan is faster than the int8 pass plus its re-scoring.</summary>
    public const int DefaultQuantizedFrom = 8192;

    private readonly MatchOptions _options;
    private readonly ScoreCalibration _calibration;
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private int _dim;
    private int _rows;
    private float[] _matrix = [];
    private sbyte[] _quantized = [];
    private float[] _scale = [];
    private float[] _error = [];
    private int[] _rowSum = [];
    private int[] _personOf = [];
    private long[] _templateOf = [];
    private readonly List<string> _personIds = [];
    private readonly Dictionary<string, int> _personIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<long, int> _rowOfTemplate = [];

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
    public int TemplateCount => Volatile.Read(ref _rows);
    public int PersonCount { get { _lock.EnterReadLock(); try { return _personIds.Count; } finally { _lock.ExitReadLock(); } } }

    /// <summary>Which matrix <see cref="Identify"/> scans; <see cref="SearchPrecision.Auto"/> by size.</summary>
    public SearchPrecision Precision { get; set; } = SearchPrecision.Auto;

    /// <summary>Template count from which <see cref="SearchPrecision.Auto"/> uses the int8 pre-pass.</summary>
    public int QuantizedFrom { get; set; } = DefaultQuantizedFrom;

    /// <summary>Replaces the index. Templates of other models are refused: their vectors live in another space.</summary>
    public void Load(IEnumerable<FaceTemplate> templates)
    {
        var list = templates as IReadOnlyList<FaceTemplate> ?? templates.ToList();
        var dim = list.Count == 0 ? 0 : list[0].Embedding.Length;
        Check(list, dim);
        _lock.EnterWriteLock();
        try
        {
            _dim = dim;
            _rows = 0;
            _personIds.Clear();
            _personIndex.Clear();
            _rowOfTemplate.Clear();
            _matrix = new float[checked(list.Count * dim)];
            _quantized = new sbyte[list.Count * dim];
            _scale = new float[list.Count];
            _error = new float[list.Count];
            _rowSum = new int[list.Count];
            _personOf = new int[list.Count];
            _templateOf = new long[list.Count];
            foreach (var t in list) Append(t);
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>
    /// Appends templates (a new enrolment or more images of a person) without touching the other rows. All or nothing:
    /// a foreign model, a wrong dimension, a zero vector or a template id already present changes nothing.
    /// </summary>
    public void Add(IReadOnlyList<FaceTemplate> templates)
    {
        if (templates.Count == 0) return;
        _lock.EnterWriteLock();
        try
        {
            var dim = _rows == 0 ? templates[0].Embedding.Length : _dim;
            Check(templates, dim);
            foreach (var t in templates)
                if (_rowOfTemplate.ContainsKey(t.Id)) throw new ArgumentException($"template {t.Id} is already loaded");
            if (_rows == 0) _dim = dim;
            Reserve(_rows + templates.Count);
            foreach (var t in templates) Append(t);
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>Removes every template of a person (deletion, re-enrolment): each row is swapped with the last row.</summary>
    /// <returns>How many templates were removed.</returns>
    public int RemovePerson(string personId)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_personIndex.TryGetValue(personId, out var p)) return 0;
            var removed = 0;
            for (var r = _rows - 1; r >= 0; r--)
            {
                if (_personOf[r] != p) continue;
                RemoveRow(r);
                removed++;
            }
            // The last person takes the freed person index, so person indices stay dense.
            var last = _personIds.Count - 1;
            if (p != last)
            {
                var moved = _personIds[last];
                _personIds[p] = moved;
                _personIndex[moved] = p;
                for (var r = 0; r < _rows; r++)
                    if (_personOf[r] == last) _personOf[r] = p;
            }
            _personIds.RemoveAt(last);
            _personIndex.Remove(personId);
            return removed;
        }
        finally { _lock.ExitWriteLock(); }
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
        _lock.EnterReadLock();
        try
        {
            var best = float.NegativeInfinity;
            var n = 0;
            if (_personIndex.TryGetValue(personId, out var p))
            {
                CheckDimension(probe);
                for (var r = 0; r < _rows; r++)
                {
                    if (_personOf[r] != p) continue;
                    best = MathF.Max(best, TensorPrimitives.Dot(probe, Row(r)));
                    n++;
                }
            }
            if (n == 0) return new VerifyResult(personId, false, float.NaN, 0, 0);
            return new VerifyResult(personId, best >= _options.VerifyThreshold, best, _calibration.Probability(best), n);
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>1:N: the best person by their best template, only if above the bar and clear of the runner-up.</summary>
    public IdentifyResult Identify(ReadOnlySpan<float> probe)
    {
        _lock.EnterReadLock();
        try
        {
            if (_rows == 0) return new IdentifyResult(IdentifyOutcome.EmptyGallery, null, null);
            CheckDimension(probe);
            var (first, firstScore, second, secondScore) = UseInt8() ? SearchInt8(probe) : SearchFloat(probe);
            if (first < 0) throw new ArgumentException("probe is not a finite vector", nameof(probe));
            var best = new Candidate(_personIds[first], firstScore, _calibration.Probability(firstScore));
            var runner = second >= 0 ? new Candidate(_personIds[second], secondScore, _calibration.Probability(secondScore)) : null;
            IdentifyOutcome outcome;
            if (best.Similarity < _options.IdentifyThreshold) outcome = IdentifyOutcome.BelowThreshold;
            else if (runner is not null && best.Similarity - runner.Similarity < _options.IdentifyMargin) outcome = IdentifyOutcome.Ambiguous;
            else outcome = IdentifyOutcome.Recognised;
            return new IdentifyResult(outcome, best, runner);
        }
        finally { _lock.ExitReadLock(); }
    }

    private bool UseInt8() => Precision switch
    {
        SearchPrecision.Float => false,
        SearchPrecision.Int8 => true,
        _ => _rows >= QuantizedFrom,
    };

    private (int First, float FirstScore, int Second, float SecondScore) SearchFloat(ReadOnlySpan<float> probe)
    {
        var perPerson = ArrayPool<float>.Shared.Rent(_personIds.Count);
        try
        {
            var scores = perPerson.AsSpan(0, _personIds.Count);
            scores.Fill(float.NegativeInfinity);
            for (var r = 0; r < _rows; r++)
            {
                var s = TensorPrimitives.Dot(probe, Row(r));
                ref var slot = ref scores[_personOf[r]];
                if (s > slot) slot = s;
            }
            return TopTwo(scores);
        }
        finally { ArrayPool<float>.Shared.Return(perPerson); }
    }

    /// <summary>
    /// With p the probe, p̂ its int8 form and x, x̂ a row's: p·x − p̂·x̂ = p̂·(x − x̂) + (p − p̂)·x, so
    /// |p·x − p̂·x̂| ≤ ‖p̂‖·‖x − x̂‖ + ‖p − p̂‖ (x is a unit vector). A row whose upper bound is below the second-highest
    /// lower bound of any two people can be neither person's best in the top two; every other row is re-scored in float.
    /// </summary>
    private (int First, float FirstScore, int Second, float SecondScore) SearchInt8(ReadOnlySpan<float> probe)
    {
        var persons = _personIds.Count;
        var pool = ArrayPool<float>.Shared;
        var probeQ = ArrayPool<sbyte>.Shared.Rent(_dim);
        var approx = pool.Rent(_rows);
        var dots = ArrayPool<int>.Shared.Rent(_rows);
        var lower = pool.Rent(persons);
        var exact = pool.Rent(persons);
        try
        {
            var q = probeQ.AsSpan(0, _dim);
            var (probeScale, probeError) = Int8Rows.Quantize(probe, q);
            var probeQNorm = MathF.Sqrt(Int8Rows.Dot(q, q)) * probeScale;
            // Float rounding of the bound itself (sums of 512 products) is far below this slack.
            const float slack = 1e-4f;
            var lo = lower.AsSpan(0, persons);
            lo.Fill(float.NegativeInfinity);
            Int8Rows.DotRows(q, _quantized, _rowSum, dots.AsSpan(0, _rows));
            for (var r = 0; r < _rows; r++)
            {
                var a = dots[r] * (probeScale * _scale[r]);
                approx[r] = a;
                var l = a - (probeQNorm * _error[r] + probeError + slack);
                ref var slot = ref lo[_personOf[r]];
                if (l > slot) slot = l;
            }
            var (_, _, second, secondLower) = TopTwo(lo);
            var cut = second >= 0 ? secondLower : float.NegativeInfinity;
            var ex = exact.AsSpan(0, persons);
            ex.Fill(float.NegativeInfinity);
            for (var r = 0; r < _rows; r++)
            {
                if (approx[r] + probeQNorm * _error[r] + probeError + slack < cut) continue;
                var s = TensorPrimitives.Dot(probe, Row(r));
                ref var slot = ref ex[_personOf[r]];
                if (s > slot) slot = s;
            }
            return TopTwo(ex);
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(probeQ);
            pool.Return(approx);
            ArrayPool<int>.Shared.Return(dots);
            pool.Return(lower);
            pool.Return(exact);
        }
    }

    /// <summary>Highest and second-highest entries; on equal scores the lower person index wins. −1 when absent.</summary>
    private static (int First, float FirstScore, int Second, float SecondScore) TopTwo(ReadOnlySpan<float> scores)
    {
        int first = -1, second = -1;
        float a = float.NegativeInfinity, b = float.NegativeInfinity;
        for (var p = 0; p < scores.Length; p++)
        {
            var s = scores[p];
            if (float.IsNegativeInfinity(s)) continue;
            if (first < 0 || s > a) { second = first; b = a; first = p; a = s; }
            else if (second < 0 || s > b) { second = p; b = s; }
        }
        return (first, a, second, b);
    }

    private ReadOnlySpan<float> Row(int r) => _matrix.AsSpan(r * _dim, _dim);

    private void Check(IReadOnlyList<FaceTemplate> list, int dim)
    {
        foreach (var t in list)
        {
            if (t.ModelId != ModelId)
                throw new ArgumentException($"template {t.Id} of {t.PersonId} was made by {t.ModelId}, not {ModelId}");
            if (t.Embedding.Length != dim) throw new ArgumentException("templates differ in dimension");
            var norm = TensorPrimitives.Norm(t.Embedding);
            if (!float.IsFinite(norm) || norm < 1e-6f)
                throw new ArgumentException($"template {t.Id} of {t.PersonId} has norm {norm}: not an embedding");
        }
    }

    /// <summary>Grows the arrays by half (amortised appends); rows past <c>_rows</c> are spare capacity.</summary>
    private void Reserve(int rows)
    {
        if (rows <= _personOf.Length && _matrix.Length >= rows * _dim) return;
        var capacity = Math.Max(rows, Math.Max(16, _personOf.Length * 3 / 2));
        var dim = _dim;
        Array.Resize(ref _matrix, checked(capacity * dim));
        Array.Resize(ref _quantized, checked(capacity * dim));
        Array.Resize(ref _scale, capacity);
        Array.Resize(ref _error, capacity);
        Array.Resize(ref _rowSum, capacity);
        Array.Resize(ref _personOf, capacity);
        Array.Resize(ref _templateOf, capacity);
    }

    /// <summary>Writes the template into row <c>_rows</c> (normalised, then quantised); capacity must be reserved.</summary>
    private void Append(FaceTemplate t)
    {
        var r = _rows;
        var row = _matrix.AsSpan(r * _dim, _dim);
        // Rows are stored at unit length, so a dot product is the cosine even for a template stored slightly off 1.
        TensorPrimitives.Divide(t.Embedding, TensorPrimitives.Norm(t.Embedding), row);
        (_scale[r], _error[r]) = Int8Rows.Quantize(row, _quantized.AsSpan(r * _dim, _dim));
        _rowSum[r] = Int8Rows.Sum(_quantized.AsSpan(r * _dim, _dim));
        if (!_personIndex.TryGetValue(t.PersonId, out var p))
        {
            p = _personIds.Count;
            _personIds.Add(t.PersonId);
            _personIndex[t.PersonId] = p;
        }
        _personOf[r] = p;
        _templateOf[r] = t.Id;
        _rowOfTemplate[t.Id] = r;
        Volatile.Write(ref _rows, r + 1);
    }

    private void RemoveRow(int r)
    {
        var last = _rows - 1;
        _rowOfTemplate.Remove(_templateOf[r]);
        if (r != last)
        {
            _matrix.AsSpan(last * _dim, _dim).CopyTo(_matrix.AsSpan(r * _dim, _dim));
            _quantized.AsSpan(last * _dim, _dim).CopyTo(_quantized.AsSpan(r * _dim, _dim));
            _scale[r] = _scale[last];
            _error[r] = _error[last];
            _rowSum[r] = _rowSum[last];
            _personOf[r] = _personOf[last];
            _templateOf[r] = _templateOf[last];
            _rowOfTemplate[_templateOf[r]] = r;
        }
        Volatile.Write(ref _rows, last);
    }

    private void CheckDimension(ReadOnlySpan<float> probe)
    {
        if (probe.Length != _dim)
            throw new ArgumentException($"probe has {probe.Length} dimensions, gallery has {_dim}");
    }
}
