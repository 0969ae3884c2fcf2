using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;

namespace EdgeGate.ModelPrep;

/// <summary>How far apart two embedder models' raw outputs are on the same aligned faces (and their mirror images).</summary>
public sealed record EquivalenceReport(int Inputs, double MaxAbsDiff, double MinCosine);

internal static class EmbedderEquivalence
{
    /// <summary>
    /// Feeds each 112×112 BGR face (and its mirror, as the product does) to both models with the product's
    /// pre-processing and compares the raw 512-float outputs, before any normalisation.
    /// </summary>
    public static EquivalenceReport Compare(IInferenceModel reference, IInferenceModel candidate, IReadOnlyList<byte[]> alignedFaces)
    {
        const int n = FaceAligner.Size * FaceAligner.Size;
        if (alignedFaces.Count == 0) throw new ArgumentException("no aligned faces to compare on", nameof(alignedFaces));
        double maxDiff = 0, minCos = 1;
        var runs = 0;
        foreach (var face in alignedFaces)
        {
            if (face.Length != n * 3) throw new ArgumentException("aligned faces must be 112x112 BGR", nameof(alignedFaces));
            foreach (var mirror in (bool[])[false, true])
            {
                TensorWriter.Planar(face, n, reference.Input(), rgb: false, mean: 127.5f, scale: 1f / 127.5f, mirror: mirror, width: FaceAligner.Size);
                reference.Input().CopyTo(candidate.Input());
                reference.Run();
                candidate.Run();
                var (d, c) = Distance(reference.Output(), candidate.Output());
                maxDiff = Math.Max(maxDiff, d);
                minCos = Math.Min(minCos, c);
                runs++;
            }
        }
        return new EquivalenceReport(runs, maxDiff, minCos);
    }

    /// <summary>Max absolute difference (NaN anywhere counts as infinitely far) and cosine similarity.</summary>
    public static (double MaxAbsDiff, double Cosine) Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) return (double.PositiveInfinity, -1);
        double max = 0, dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            double x = a[i], y = b[i];
            var d = Math.Abs(x - y);
            if (double.IsNaN(d)) d = double.PositiveInfinity;
            max = Math.Max(max, d);
            dot += x * y; na += x * x; nb += y * y;
        }
        var cos = na > 0 && nb > 0 ? dot / Math.Sqrt(na * nb) : -1;
        return (max, double.IsNaN(cos) ? -1 : cos);
    }
}
