using EdgeGate.Onnx;
using OnnxProto = global::Onnx;

namespace EdgeGate.ModelPrep;

/// <summary>A prepared model failed its check (or could not be checked) and was not written.</summary>
public sealed class ModelRefusedException(string message) : Exception(message);

public sealed record PrepareOptions
{
    /// <summary>The original fr_feature.onnx.</summary>
    public required string Source { get; init; }

    /// <summary>Where the prepared model and its card are written (created if missing).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Real aligned 112×112 BGR faces (as the product aligns them) to verify on.</summary>
    public required IReadOnlyList<byte[]> AlignedFaces { get; init; }

    /// <summary>Where the faces came from, for the card.</summary>
    public required string FaceSource { get; init; }

    /// <summary>Largest absolute difference allowed between the raw outputs of the original and the prepared model.</summary>
    public double Tolerance { get; init; } = 1e-5;

    public int Threads { get; init; } = 1;

    /// <summary>A clock for the card (tests pin it).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

public sealed record PrepareResult(string ModelPath, string CardPath, ModelCard Card);

/// <summary>
/// <c>edgegate model prepare</c>: writes fr_feature.fp32-fast.onnx, the original with every PRelu rewritten
/// exactly (<see cref="PreluRewriter"/>), only after ONNX Runtime has run both models on real aligned faces and
/// their outputs agree within the tolerance; beside it a model card with the figures.
/// </summary>
public static class ModelPreparer
{
    /// <summary>Fewer faces than this do not show that the rewrite is exact.</summary>
    public const int MinimumFaces = 8;

    public static PrepareResult PrepareFast(OrtRuntime runtime, PrepareOptions options) =>
        PrepareFast(runtime, options, PreluRewriter.Rewrite);

    /// <param name="rewrite">the graph rewrite; tests substitute a wrong one to see the check refuse it.</param>
    internal static PrepareResult PrepareFast(OrtRuntime runtime, PrepareOptions options,
        Func<OnnxProto.ModelProto, (OnnxProto.ModelProto Model, int Replaced)> rewrite)
    {
        if (!(options.Tolerance is > 0 and <= 1e-3)) throw new ArgumentOutOfRangeException(nameof(options), options.Tolerance, "tolerance must be in (0, 1e-3]");
        if (options.AlignedFaces.Count < MinimumFaces)
            throw new ModelRefusedException($"only {options.AlignedFaces.Count} aligned faces to verify on; at least {MinimumFaces} are needed");
        var source = OnnxGraphs.Read(options.Source);
        var sourceSha = OnnxGraphs.Sha256(options.Source);
        var (fast, replaced) = rewrite(source);
        if (OnnxGraphs.CountOps(fast, "PRelu") is var left and > 0)
            throw new ModelRefusedException($"{left} PRelu nodes are left after the rewrite");

        Directory.CreateDirectory(options.OutputDirectory);
        var final = Path.Combine(options.OutputDirectory, EmbedderVariants.FastFileName);
        var unverified = final + ".unverified";
        try
        {
            OnnxGraphs.Write(fast, unverified);
            var session = new OnnxSessionOptions { IntraOpThreads = options.Threads };
            using var reference = OnnxModel.Load(runtime, options.Source,
                session with { GraphOptimizationLevel = EmbedderVariants.DefaultGraphOptimizationLevel(EmbedderVariants.Original) },
                FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
            // The product may run the fast model at any level (config overrides the default); check the extremes.
            var reports = new List<EquivalenceReport>();
            foreach (var level in (int[])[99, 1])
            {
                using var candidate = OnnxModel.Load(runtime, unverified, session with { GraphOptimizationLevel = level },
                    FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
                reports.Add(EmbedderEquivalence.Compare(reference, candidate, options.AlignedFaces));
            }
            var maxDiff = reports.Max(r => r.MaxAbsDiff);
            var minCos = reports.Min(r => r.MinCosine);
            if (!(maxDiff <= options.Tolerance))
                throw new ModelRefusedException(
                    $"the prepared model differs from {Path.GetFileName(options.Source)} by up to {maxDiff:G3} (tolerance {options.Tolerance:G3}) on {options.AlignedFaces.Count} faces; not written");

            File.Move(unverified, final, overwrite: true);
            var card = new ModelCard
            {
                Variant = EmbedderVariants.Fast,
                File = Path.GetFileName(final),
                Sha256 = OnnxGraphs.Sha256(final),
                SourceFile = Path.GetFileName(options.Source),
                SourceSha256 = sourceSha,
                Recipe = PreluRewriter.Recipe,
                Opset = OnnxGraphs.DefaultOpset(fast),
                NodesReplaced = replaced,
                Verification = new ModelCardVerification
                {
                    Engine = $"onnxruntime {runtime.Version}, {options.Threads} thread(s); original at level {EmbedderVariants.DefaultGraphOptimizationLevel(EmbedderVariants.Original)}, prepared at levels 99 and 1",
                    Faces = options.AlignedFaces.Count,
                    Runs = reports.Sum(r => r.Inputs),
                    FaceSource = options.FaceSource,
                    Tolerance = options.Tolerance,
                    MaxAbsDiff = maxDiff,
                    MinCosine = minCos,
                },
                CreatedUtc = options.Time.GetUtcNow(),
            };
            var cardPath = ModelCard.PathFor(final);
            File.WriteAllText(cardPath + ".part", card.ToJson());
            File.Move(cardPath + ".part", cardPath, overwrite: true);
            return new PrepareResult(final, cardPath, card);
        }
        finally
        {
            if (File.Exists(unverified)) File.Delete(unverified);
        }
    }
}
