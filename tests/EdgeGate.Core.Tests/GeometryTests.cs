using EdgeGate.Core.Faces;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests;

public class GeometryTests
{
    private static readonly PointF[] Source =
    [
        new(10, 20), new(40, 18), new(26, 35), new(14, 52), new(37, 55),
    ];

    private static PointF Similarity(PointF p, double s, double thetaDeg, double tx, double ty)
    {
        var t = thetaDeg * Math.PI / 180;
        return new((float)(s * (Math.Cos(t) * p.X - Math.Sin(t) * p.Y) + tx), (float)(s * (Math.Sin(t) * p.X + Math.Cos(t) * p.Y) + ty));
    }

    private static double SquaredResidual(Affine m, ReadOnlySpan<PointF> from, ReadOnlySpan<PointF> to)
    {
        double sum = 0;
        for (var i = 0; i < from.Length; i++)
        {
            double x = m.A * from[i].X + m.B * from[i].Y + m.C, y = m.D * from[i].X + m.E * from[i].Y + m.F;
            sum += (x - to[i].X) * (x - to[i].X) + (y - to[i].Y) * (y - to[i].Y);
        }
        return sum;
    }

    private static void AssertAffine(Affine expected, Affine actual, double tol)
    {
        Assert.Equal(expected.A, actual.A, tol);
        Assert.Equal(expected.B, actual.B, tol);
        Assert.Equal(expected.C, actual.C, tol);
        Assert.Equal(expected.D, actual.D, tol);
        Assert.Equal(expected.E, actual.E, tol);
        Assert.Equal(expected.F, actual.F, tol);
    }

    [Fact]
    public void FitSimilarity_RecoversKnownScaleRotationTranslation()
    {
        const double s = 1.7, theta = 23, tx = 5, ty = -3;
        var to = Source.Select(p => Similarity(p, s, theta, tx, ty)).ToArray();
        var m = Affine.FitSimilarity(Source, to);
        var c = s * Math.Cos(theta * Math.PI / 180);
        var sn = s * Math.Sin(theta * Math.PI / 180);
        // Targets are stored as float (≈1e-5 relative), so the recovered coefficients are good to ~1e-6.
        AssertAffine(new Affine(c, -sn, tx, sn, c, ty), m, 1e-5);
        Assert.Equal(1.7, m.Scale, 1e-6);
    }

    [Fact]
    public void FitSimilarity_OnNoisyPoints_EqualsNormalEquationsSolution()
    {
        var rnd = new Random(7);
        var to = Source.Select(p => Similarity(p, 0.8, -15, 30, 12))
            .Select(p => new PointF(p.X + (float)(rnd.NextDouble() - 0.5) * 4, p.Y + (float)(rnd.NextDouble() - 0.5) * 4))
            .ToArray();

        // Unknowns (a, b, tx, ty) of x' = a·x − b·y + tx, y' = b·x + a·y + ty; rows [x, −y, 1, 0] and [y, x, 0, 1].
        var ata = new double[4, 4];
        var atb = new double[4];
        for (var i = 0; i < Source.Length; i++)
        {
            double x = Source[i].X, y = Source[i].Y;
            double[][] rows = [[x, -y, 1, 0], [y, x, 0, 1]];
            double[] rhs = [to[i].X, to[i].Y];
            for (var r = 0; r < 2; r++)
                for (var j = 0; j < 4; j++)
                {
                    atb[j] += rows[r][j] * rhs[r];
                    for (var k = 0; k < 4; k++) ata[j, k] += rows[r][j] * rows[r][k];
                }
        }
        var sol = Solve(ata, atb);

        var m = Affine.FitSimilarity(Source, to);
        AssertAffine(new Affine(sol[0], -sol[1], sol[2], sol[1], sol[0], sol[3]), m, 1e-6);
        Assert.True(SquaredResidual(m, Source, to) > 1e-3, "noisy points cannot be fitted exactly");
    }

    [Fact]
    public void FitSimilarity_MirroredPoints_GivesProperRotationWithResidual()
    {
        var mirrored = Source.Select(p => new PointF(-p.X, p.Y)).ToArray();
        var m = Affine.FitSimilarity(Source, mirrored);
        Assert.True(m.A * m.E - m.B * m.D > 0, "a similarity never reflects");
        Assert.Equal(m.A, m.E, 12);
        Assert.Equal(-m.B, m.D, 12);
        Assert.True(SquaredResidual(m, Source, mirrored) > 100, "a reflection cannot be fitted by a similarity");
    }

    [Fact]
    public void FitSimilarity_RejectsTooFewMismatchedOrCoincidentPoints()
    {
        Assert.Throws<ArgumentException>(() => Affine.FitSimilarity([new PointF(1, 1)], [new PointF(2, 2)]));
        Assert.Throws<ArgumentException>(() => Affine.FitSimilarity(Source, Source.AsSpan(0, 4)));
        Assert.Throws<ArgumentException>(() => Affine.FitSimilarity([new(3, 3), new(3, 3)], [new(0, 0), new(1, 1)]));
    }

    [Fact]
    public void Inverse_ComposedEitherWay_IsIdentity()
    {
        var m = new Affine(1.3, -0.4, 7, 0.2, 0.9, -11);
        AssertAffine(Affine.Identity, m.After(m.Inverse()), 1e-12);
        AssertAffine(Affine.Identity, m.Inverse().After(m), 1e-12);
        var p = new PointF(3.5f, -8f);
        var back = m.Inverse().Apply(m.Apply(p));
        Assert.Equal(p.X, back.X, 4);
        Assert.Equal(p.Y, back.Y, 4);
    }

    [Fact]
    public void After_AppliesTheArgumentFirst()
    {
        var shift = new Affine(1, 0, 10, 0, 1, 0);
        var doubleIt = new Affine(2, 0, 0, 0, 2, 0);
        var p = new PointF(1, 1);
        Assert.Equal(new PointF(22, 2), doubleIt.After(shift).Apply(p)); // (1+10)·2
        Assert.Equal(new PointF(12, 2), shift.After(doubleIt).Apply(p)); // 1·2+10
    }

    [Fact]
    public void Inverse_OfSingularMap_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => new Affine(1, 2, 0, 2, 4, 0).Inverse());
    }

    [Fact]
    public void Scale_IsSquareRootOfDeterminantMagnitude()
    {
        Assert.Equal(4, new Affine(2, 0, 5, 0, 8, 5).Scale, 12);
        Assert.Equal(3, new Affine(-3, 0, 0, 0, 3, 0).Scale, 12); // reflection: magnitude
        Assert.Equal(1, Affine.Identity.Scale, 12);
    }

    private static FivePoints Five(IReadOnlyList<PointF> p) => new(p[0], p[1], p[2], p[3], p[4]);

    [Fact]
    public void ImageToTemplate_OfTemplatePoints_IsIdentity()
    {
        AssertAffine(Affine.Identity, FaceAligner.ImageToTemplate(Five(FaceAligner.Template)), 1e-5);
    }

    [Fact]
    public void ImageToTemplate_OfFaceScaledTwiceAndShifted_UndoesIt()
    {
        var face = FaceAligner.Template.Select(p => new PointF(2 * p.X + 10, 2 * p.Y + 20)).ToArray();
        var m = FaceAligner.ImageToTemplate(Five(face));
        // image → template: (p − (10, 20)) / 2
        AssertAffine(new Affine(0.5, 0, -5, 0, 0.5, -10), m, 1e-5);
    }

    [Fact]
    public void Align_SamplesTheFaceRegionIntoTheTemplateFrame()
    {
        // B encodes x and G encodes y, so each aligned pixel says where in the frame it was read.
        using var frame = TestFrames.From(256, 256, (x, y) => ((byte)x, (byte)y, 0));
        var face = FaceAligner.Template.Select(p => new PointF(2 * p.X + 10, 2 * p.Y + 20)).ToArray();
        var aligned = new byte[FaceAligner.Size * FaceAligner.Size * 3];
        FaceAligner.Align(frame, Five(face), aligned);
        foreach (var (u, v) in new[] { (0, 0), (56, 30), (111, 111), (5, 100) })
        {
            var (b, g, _) = TestFrames.At(aligned, FaceAligner.Size, u, v);
            Assert.InRange(b, 2 * u + 10 - 1, 2 * u + 10 + 1);
            Assert.InRange(g, 2 * v + 20 - 1, 2 * v + 20 + 1);
        }
    }

    private static double[] Solve(double[,] m, double[] rhs)
    {
        var n = rhs.Length;
        var a = (double[,])m.Clone();
        var b = (double[])rhs.Clone();
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < n; r++) if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col])) pivot = r;
            for (var k = 0; k < n; k++) (a[col, k], a[pivot, k]) = (a[pivot, k], a[col, k]);
            (b[col], b[pivot]) = (b[pivot], b[col]);
            for (var r = 0; r < n; r++)
            {
                if (r == col) continue;
                var f = a[r, col] / a[col, col];
                for (var k = 0; k < n; k++) a[r, k] -= f * a[col, k];
                b[r] -= f * b[col];
            }
        }
        return Enumerable.Range(0, n).Select(i => b[i] / a[i, i]).ToArray();
    }
}
