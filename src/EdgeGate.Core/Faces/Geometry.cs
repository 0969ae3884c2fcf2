namespace EdgeGate.Core.Faces;

public readonly record struct PointF(float X, float Y);

/// <summary>An axis-aligned face box in pixel coordinates with the detector's score.</summary>
public readonly record struct FaceBox(float X1, float Y1, float X2, float Y2, float Score)
{
    public float Width => X2 - X1;
    public float Height => Y2 - Y1;
    public float Area => MathF.Max(0, Width) * MathF.Max(0, Height);
    public PointF Center => new((X1 + X2) / 2, (Y1 + Y2) / 2);

    /// <summary>
    /// Area inside a width×height frame. Boxes can reach into the replicated padding the detector sees; a face cut
    /// off by the image edge is a bystander more often than the subject, so it ranks by what is really visible.
    /// </summary>
    public float VisibleArea(int width, int height) =>
        MathF.Max(0, MathF.Min(X2, width) - MathF.Max(X1, 0)) * MathF.Max(0, MathF.Min(Y2, height) - MathF.Max(Y1, 0));

    public float IoU(in FaceBox other)
    {
        var iw = MathF.Min(X2, other.X2) - MathF.Max(X1, other.X1);
        var ih = MathF.Min(Y2, other.Y2) - MathF.Max(Y1, other.Y1);
        if (iw <= 0 || ih <= 0) return 0;
        var inter = iw * ih;
        return inter / (Area + other.Area - inter);
    }
}

/// <summary>
/// A 2-D affine map x' = A·x + B·y + C, y' = D·x + E·y + F. Used both ways: the similarity that takes source
/// landmarks onto the template, and its inverse that the sampler walks (destination pixel → source pixel).
/// </summary>
public readonly record struct Affine(double A, double B, double C, double D, double E, double F)
{
    public static Affine Identity => new(1, 0, 0, 0, 1, 0);

    public PointF Apply(PointF p) => new((float)(A * p.X + B * p.Y + C), (float)(D * p.X + E * p.Y + F));

    /// <summary>Mean linear scale (square root of the determinant's magnitude).</summary>
    public double Scale => Math.Sqrt(Math.Abs(A * E - B * D));

    public Affine Inverse()
    {
        var det = A * E - B * D;
        if (Math.Abs(det) < 1e-12) throw new InvalidOperationException("affine map is singular");
        var ia = E / det; var ib = -B / det; var id = -D / det; var ie = A / det;
        return new Affine(ia, ib, -(ia * C + ib * F), id, ie, -(id * C + ie * F));
    }

    /// <summary>This map applied after <paramref name="first"/>.</summary>
    public Affine After(Affine first) => new(
        A * first.A + B * first.D, A * first.B + B * first.E, A * first.C + B * first.F + C,
        D * first.A + E * first.D, D * first.B + E * first.E, D * first.C + E * first.F + F);

    /// <summary>
    /// Least-squares similarity (rotation, uniform scale, translation; no reflection or shear) taking
    /// <paramref name="from"/> onto <paramref name="to"/> — the closed form of Umeyama's method in 2-D.
    /// </summary>
    public static Affine FitSimilarity(ReadOnlySpan<PointF> from, ReadOnlySpan<PointF> to)
    {
        if (from.Length != to.Length || from.Length < 2)
            throw new ArgumentException("need at least two matching point pairs");
        double mx = 0, my = 0, nx = 0, ny = 0;
        for (var i = 0; i < from.Length; i++) { mx += from[i].X; my += from[i].Y; nx += to[i].X; ny += to[i].Y; }
        mx /= from.Length; my /= from.Length; nx /= from.Length; ny /= from.Length;
        double dot = 0, cross = 0, norm = 0;
        for (var i = 0; i < from.Length; i++)
        {
            double px = from[i].X - mx, py = from[i].Y - my, qx = to[i].X - nx, qy = to[i].Y - ny;
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
            norm += px * px + py * py;
        }
        if (norm < 1e-9) throw new ArgumentException("source points coincide");
        var a = dot / norm; var b = cross / norm; // a = s·cosθ, b = s·sinθ
        return new Affine(a, -b, nx - (a * mx - b * my), b, a, ny - (b * mx + a * my));
    }
}

public static class NonMaxSuppression
{
    /// <summary>
    /// Greedy IoU non-maximum suppression: keeps the highest-scoring box of each overlapping cluster.
    /// <paramref name="boxes"/> is sorted in place by descending score.
    /// </summary>
    public static List<FaceBox> Apply(List<FaceBox> boxes, float iouThreshold, int maxKeep = int.MaxValue)
    {
        var kept = new List<FaceBox>();
        Apply(boxes, iouThreshold, kept, maxKeep);
        return kept;
    }

    /// <summary>As <see cref="Apply(List{FaceBox}, float, int)"/>, into <paramref name="kept"/> (cleared first): no allocation per frame.</summary>
    public static void Apply(List<FaceBox> boxes, float iouThreshold, List<FaceBox> kept, int maxKeep = int.MaxValue)
    {
        boxes.Sort(ByScoreDescending);
        kept.Clear();
        foreach (var box in boxes)
        {
            if (kept.Count >= maxKeep) break;
            var suppressed = false;
            foreach (var k in kept)
                if (k.IoU(box) > iouThreshold) { suppressed = true; break; }
            if (!suppressed) kept.Add(box);
        }
    }

    private static readonly Comparison<FaceBox> ByScoreDescending = (a, b) => b.Score.CompareTo(a.Score);
}
