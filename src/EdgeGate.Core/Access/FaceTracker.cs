using EdgeGate.Core.Faces;

namespace EdgeGate.Core.Access;

public sealed record TrackerOptions
{
    /// <summary>
    /// Minimum overlap to continue a track. Low because at 5–10 processed frames/s a person walking up moves and grows
    /// between frames; the centre-distance rule below catches what IoU misses.
    /// </summary>
    public float MinIoU { get; init; } = 0.2f;

    /// <summary>Also continue a track when the centres are within this many face widths (fast approach, dropped frames).</summary>
    public float MaxCentreShift { get; init; } = 0.6f;

    /// <summary>A track not seen for this long has left (turned away, walked past, or the frame was dropped too often).</summary>
    public TimeSpan MaxUnseen { get; init; } = TimeSpan.FromSeconds(1);

    public void Validate()
    {
        if (MinIoU is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(MinIoU), "must be in (0, 1)");
        if (MaxCentreShift < 0) throw new ArgumentOutOfRangeException(nameof(MaxCentreShift));
        if (MaxUnseen <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MaxUnseen));
    }
}

/// <summary>A face followed across frames. Times are stream times (<see cref="Ports.CapturedFrame.StreamTime"/>).</summary>
public sealed class FaceTrack(long id, FaceBox box, TimeSpan firstSeen, long firstArrivedTimestamp)
{
    public long Id { get; } = id;
    public FaceBox Box { get; internal set; } = box;
    public TimeSpan FirstSeen { get; } = firstSeen;
    public TimeSpan LastSeen { get; internal set; } = firstSeen;

    /// <summary>Stopwatch timestamp of the first frame this face was in: where decision latency starts.</summary>
    public long FirstArrivedTimestamp { get; } = firstArrivedTimestamp;

    public int Frames { get; internal set; } = 1;
    public TimeSpan Age => LastSeen - FirstSeen;
}

/// <summary>
/// Greedy IoU tracker (SORT without the Kalman filter): faces at a door move slowly relative to the frame rate,
/// and a wrong association costs at most one extra decision, never a wrong identity, because every decision rests
/// on the embeddings of its own track.
/// </summary>
public sealed class FaceTracker
{
    private readonly TrackerOptions _options;
    private readonly List<FaceTrack> _tracks = [];
    private readonly List<(float Score, int Box, int Track)> _pairs = [];
    private bool[] _taken = new bool[8];
    private long _nextId = 1;

    public FaceTracker(TrackerOptions? options = null)
    {
        _options = options ?? new TrackerOptions();
        _options.Validate();
    }

    public IReadOnlyList<FaceTrack> Active => _tracks;

    /// <summary>
    /// Assigns each box to a track (same order as <paramref name="boxes"/>), starts tracks for new faces and moves tracks
    /// unseen for longer than <see cref="TrackerOptions.MaxUnseen"/> into <paramref name="ended"/>.
    /// </summary>
    public FaceTrack[] Update(IReadOnlyList<FaceBox> boxes, TimeSpan now, long arrivedTimestamp, List<FaceTrack> ended)
    {
        var assigned = new List<FaceTrack>(boxes.Count);
        Update(boxes, now, arrivedTimestamp, ended, assigned);
        return [.. assigned];
    }

    /// <summary>As the array form, into <paramref name="assigned"/> (cleared first): the per-frame path, which allocates only new tracks.</summary>
    public void Update(IReadOnlyList<FaceBox> boxes, TimeSpan now, long arrivedTimestamp, List<FaceTrack> ended, List<FaceTrack> assigned)
    {
        assigned.Clear();
        for (var b = 0; b < boxes.Count; b++) assigned.Add(null!);
        if (_taken.Length < _tracks.Count) _taken = new bool[Math.Max(_tracks.Count, 2 * _taken.Length)];
        var taken = _taken.AsSpan(0, _tracks.Count);
        taken.Clear();
        // Candidate pairs ranked by overlap, then by closeness, so the best continuation wins each conflict.
        var pairs = _pairs;
        pairs.Clear();
        for (var b = 0; b < boxes.Count; b++)
        {
            for (var t = 0; t < _tracks.Count; t++)
            {
                var prev = _tracks[t].Box;
                var iou = boxes[b].IoU(prev);
                if (iou >= _options.MinIoU) { pairs.Add((1 + iou, b, t)); continue; }
                var shift = CentreShift(boxes[b], prev);
                if (shift <= _options.MaxCentreShift && SizeRatio(boxes[b], prev) < 1.6f)
                    pairs.Add((1 - shift / (_options.MaxCentreShift + 1e-6f), b, t));
            }
        }
        pairs.Sort(ByScoreDescending);
        foreach (var (_, b, t) in pairs)
        {
            if (assigned[b] is not null || taken[t]) continue;
            var track = _tracks[t];
            track.Box = boxes[b];
            track.LastSeen = now;
            track.Frames++;
            assigned[b] = track;
            taken[t] = true;
        }
        for (var t = _tracks.Count - 1; t >= 0; t--)
        {
            if (taken[t] || now - _tracks[t].LastSeen <= _options.MaxUnseen) continue;
            ended.Add(_tracks[t]);
            _tracks.RemoveAt(t);
        }
        for (var b = 0; b < boxes.Count; b++)
        {
            if (assigned[b] is not null) continue;
            assigned[b] = new FaceTrack(_nextId++, boxes[b], now, arrivedTimestamp);
            _tracks.Add(assigned[b]);
        }
    }

    private static readonly Comparison<(float Score, int Box, int Track)> ByScoreDescending = (x, y) => y.Score.CompareTo(x.Score);

    /// <summary>Ends every track (end of stream, camera restart).</summary>
    public void EndAll(List<FaceTrack> ended)
    {
        ended.AddRange(_tracks);
        _tracks.Clear();
    }

    private static float CentreShift(in FaceBox a, in FaceBox b)
    {
        float dx = (a.X1 + a.X2 - b.X1 - b.X2) / 2, dy = (a.Y1 + a.Y2 - b.Y1 - b.Y2) / 2;
        var w = MathF.Max(1, (a.Width + b.Width) / 2);
        return MathF.Sqrt(dx * dx + dy * dy) / w;
    }

    private static float SizeRatio(in FaceBox a, in FaceBox b)
    {
        float wa = MathF.Max(1, a.Width), wb = MathF.Max(1, b.Width);
        return wa > wb ? wa / wb : wb / wa;
    }
}
