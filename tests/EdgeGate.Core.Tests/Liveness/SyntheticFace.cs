using EdgeGate.Core.Faces;

namespace EdgeGate.Core.Tests.Liveness;

/// <summary>
/// A rough 3-D iBUG-68 face (units ≈ pixels, z towards the camera) and its orthographic views: a real head (with depth)
/// or a flat picture of it (z = 0), turned by yaw/pitch/roll, scaled and shifted, with seeded landmark noise.
/// </summary>
public static class SyntheticFace
{
    public static (double X, double Y, double Z)[] Model(double eyeOpen = 1, double mouthOpen = 1)
    {
        var p = new (double, double, double)[68];
        for (var i = 0; i <= 16; i++) // jaw: lower half-ellipse from ear to ear, set back
        {
            var a = Math.PI * i / 16;
            p[i] = (-50 * Math.Cos(a), 10 + 50 * Math.Sin(a), -25 + 15 * Math.Sin(a));
        }
        for (var i = 0; i < 5; i++) { p[17 + i] = (-40 + 7 * i, -25 - 3 * Math.Sin(Math.PI * i / 4), 5); p[22 + i] = (12 + 7 * i, -25 - 3 * Math.Sin(Math.PI * i / 4), 5); }
        for (var i = 0; i < 4; i++) p[27 + i] = (0, -15 + 9 * i, 8 + 7 * i); // bridge to tip: sticks out
        for (var i = 0; i < 5; i++) p[31 + i] = (-10 + 5 * i, 18, 22 - Math.Abs(i - 2) * 3);
        Eye(p, 36, -22, eyeOpen);
        Eye(p, 42, 22, eyeOpen);
        for (var i = 0; i < 12; i++) { var a = 2 * Math.PI * i / 12; p[48 + i] = (-20 * Math.Cos(a), 35 - 7 * Math.Sin(a), 10); }
        for (var i = 0; i < 8; i++) { var a = 2 * Math.PI * i / 8; p[60 + i] = (-14 * Math.Cos(a), 35 - 3 * mouthOpen * Math.Sin(a), 10); }
        return p;
    }

    private static void Eye((double, double, double)[] p, int at, double cx, double open)
    {
        const double w = 9, h = 3.5;
        p[at] = (cx - w, -12, 2); p[at + 3] = (cx + w, -12, 2);
        p[at + 1] = (cx - w / 3, -12 - h * open, 4); p[at + 2] = (cx + w / 3, -12 - h * open, 4);
        p[at + 4] = (cx + w / 3, -12 + h * open, 4); p[at + 5] = (cx - w / 3, -12 + h * open, 4);
    }

    /// <summary>Orthographic view of <paramref name="model"/> turned by the angles (degrees), scaled, shifted, plus noise.</summary>
    public static PointF[] View((double X, double Y, double Z)[] model, bool flat, double yaw, double pitch, double roll,
        double scale = 1, double tx = 200, double ty = 200, double noise = 0, Random? rng = null)
    {
        double cy = Math.Cos(yaw * Math.PI / 180), sy = Math.Sin(yaw * Math.PI / 180);
        double cp = Math.Cos(pitch * Math.PI / 180), sp = Math.Sin(pitch * Math.PI / 180);
        double cr = Math.Cos(roll * Math.PI / 180), sr = Math.Sin(roll * Math.PI / 180);
        var result = new PointF[model.Length];
        for (var i = 0; i < model.Length; i++)
        {
            var (x, y, z) = model[i];
            if (flat) z = 0;
            double x1 = cy * x + sy * z, z1 = -sy * x + cy * z;        // yaw about the vertical axis
            double y1 = cp * y - sp * z1;                                  // pitch about the horizontal axis
            double x2 = cr * x1 - sr * y1, y2 = sr * x1 + cr * y1;          // roll in the image plane
            double nx = rng is null ? 0 : Gauss(rng) * noise, ny = rng is null ? 0 : Gauss(rng) * noise;
            result[i] = new PointF((float)(scale * x2 + tx + nx), (float)(scale * y2 + ty + ny));
        }
        return result;
    }

    private static double Gauss(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}
