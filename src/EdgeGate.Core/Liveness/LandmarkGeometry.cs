using EdgeGate.Core.Faces;

namespace EdgeGate.Core.Liveness;

/// <summary>Measurements on iBUG-68 landmark sets that the liveness heuristics follow over a track.</summary>
public static class LandmarkGeometry
{
    public const int PointCount = 68;

    /// <summary>
    /// Eye aspect ratio (Soukupová &amp; Čech 2016) of one eye given its six points p0..p5 in iBUG order:
    /// (|p1−p5| + |p2−p4|) / (2·|p0−p3|). About 0.25–0.35 open, near 0.1 closed.
    /// </summary>
    public static double EyeAspectRatio(ReadOnlySpan<PointF> eye)
    {
        if (eye.Length != 6) throw new ArgumentException("an eye has 6 landmarks");
        var width = Dist(eye[0], eye[3]);
        if (width < 1e-6) return 0;
        return (Dist(eye[1], eye[5]) + Dist(eye[2], eye[4])) / (2 * width);
    }

    /// <summary>Mean EAR of both eyes (points 36–41 and 42–47).</summary>
    public static double EyeAspectRatio68(ReadOnlySpan<PointF> p)
    {
        Check(p);
        return (EyeAspectRatio(p[36..42]) + EyeAspectRatio(p[42..48])) / 2;
    }

    /// <summary>
    /// How far the lips are apart, in eye distances: the mean gap between the inner upper lip (points 61–63) and the inner
    /// lower lip (67–65). A ratio of two distances on the same face, so a picture turned, scaled or tilted keeps it.
    /// </summary>
    public static double MouthOpening(ReadOnlySpan<PointF> p)
    {
        Check(p);
        var eye = FivePoints.From68(p).EyeDistance;
        if (eye < 1e-6) return 0;
        return (Dist(p[61], p[67]) + Dist(p[62], p[66]) + Dist(p[63], p[65])) / (3 * eye);
    }

    /// <summary>Distance between the two eye centres (scale for normalising pixel distances).</summary>
    public static double EyeDistance(ReadOnlySpan<PointF> p)
    {
        Check(p);
        return FivePoints.From68(p).EyeDistance;
    }

    /// <summary>
    /// What a plane cannot explain: the least-squares affine map taking <paramref name="reference"/> onto
    /// <paramref name="current"/> is fitted (an affine map is exactly how a flat picture moves under a camera at door
    /// distance, where perspective is weak), and the RMS of the residuals, in units of the eye distance, is returned.
    /// A photo or a screen gives only landmark noise; a real head gives parallax (nose against the face outline when it
    /// turns) and deformation (mouth, eyes, jaw).
    /// </summary>
    public static double NonPlanarResidual(ReadOnlySpan<PointF> reference, ReadOnlySpan<PointF> current)
    {
        if (reference.Length != current.Length || reference.Length < 4) throw new ArgumentException("need matching sets of at least 4 points");
        var map = FitAffine(reference, current);
        double sum = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            var q = map.Apply(reference[i]);
            sum += Sq(q.X - current[i].X) + Sq(q.Y - current[i].Y);
        }
        var scale = current.Length == PointCount ? EyeDistance(current) : Spread(current);
        return scale < 1e-6 ? 0 : Math.Sqrt(sum / reference.Length) / scale;
    }

    /// <summary>
    /// How much the face moved as a whole between two sets, in eye distances: the shift of the centroid plus the
    /// change of scale and rotation of the fitted similarity (a photo waved about moves a lot and stays planar).
    /// </summary>
    public static double GlobalMotion(ReadOnlySpan<PointF> reference, ReadOnlySpan<PointF> current)
    {
        var s = Affine.FitSimilarity(reference, current);
        var scale = Math.Sqrt(s.A * s.A + s.D * s.D);
        var angle = Math.Atan2(s.D, s.A);
        PointF c0 = Centroid(reference), c1 = Centroid(current);
        var eye = current.Length == PointCount ? EyeDistance(current) : Spread(current);
        var shift = eye < 1e-6 ? 0 : Dist(c0, c1) / eye;
        return shift + Math.Abs(Math.Log(Math.Max(scale, 1e-6))) + Math.Abs(angle);
    }

    /// <summary>Least-squares affine map (6 parameters) taking <paramref name="from"/> onto <paramref name="to"/>.</summary>
    public static Affine FitAffine(ReadOnlySpan<PointF> from, ReadOnlySpan<PointF> to)
    {
        if (from.Length != to.Length || from.Length < 3) throw new ArgumentException("need at least three matching point pairs");
        // Centre both sets for conditioning, solve the 2×2 normal equations for the linear part, then the shift.
        PointF cf = Centroid(from), ct = Centroid(to);
        double sxx = 0, sxy = 0, syy = 0, ux = 0, uy = 0, vx = 0, vy = 0;
        for (var i = 0; i < from.Length; i++)
        {
            double x = from[i].X - cf.X, y = from[i].Y - cf.Y, u = to[i].X - ct.X, v = to[i].Y - ct.Y;
            sxx += x * x; sxy += x * y; syy += y * y;
            ux += u * x; uy += u * y; vx += v * x; vy += v * y;
        }
        var det = sxx * syy - sxy * sxy;
        if (Math.Abs(det) < 1e-9 * Math.Max(1, sxx * syy)) return Affine.FitSimilarity(from, to); // collinear points
        double a = (ux * syy - uy * sxy) / det, b = (uy * sxx - ux * sxy) / det;
        double d = (vx * syy - vy * sxy) / det, e = (vy * sxx - vx * sxy) / det;
        return new Affine(a, b, ct.X - (a * cf.X + b * cf.Y), d, e, ct.Y - (d * cf.X + e * cf.Y));
    }

    private static PointF Centroid(ReadOnlySpan<PointF> p)
    {
        double x = 0, y = 0;
        foreach (var q in p) { x += q.X; y += q.Y; }
        return new PointF((float)(x / p.Length), (float)(y / p.Length));
    }

    private static double Spread(ReadOnlySpan<PointF> p)
    {
        var c = Centroid(p);
        double s = 0;
        foreach (var q in p) s += Sq(q.X - c.X) + Sq(q.Y - c.Y);
        return Math.Sqrt(s / p.Length);
    }

    private static void Check(ReadOnlySpan<PointF> p)
    {
        if (p.Length != PointCount) throw new ArgumentException($"expected {PointCount} landmarks, got {p.Length}");
    }

    private static double Dist(PointF a, PointF b) => Math.Sqrt(Sq(a.X - b.X) + Sq(a.Y - b.Y));
    private static double Sq(double v) => v * v;
}
