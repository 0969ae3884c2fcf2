using System.Text.Json.Nodes;
using EdgeGate.Composition;
using EdgeGate.Core.Evaluation;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Ports;
using Spectre.Console;

namespace EdgeGate.Cli;

/// <summary>eval and verify: face-to-face comparisons without a gallery.</summary>
internal static class EvalCommand
{
    public sealed record EmbeddedImage(string Path, float[]? Embedding, string? FailureCode, string? FailureMessage);

    /// <summary>
    /// Embeds each distinct image once. Evaluation measures the embedder on every face found, so the quality gate
    /// is not applied, and when several faces appear the largest is used; an image with no face is a failure.
    /// </summary>
    public static Dictionary<string, EmbeddedImage> EmbedAll(FaceStack stack, IEnumerable<string> paths, Action? onEach = null)
    {
        var result = new Dictionary<string, EmbeddedImage>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            if (result.ContainsKey(path)) continue;
            result[path] = EmbedOne(stack, path, enforceQuality: false, rejectRivals: false);
            onEach?.Invoke();
        }
        return result;
    }

    public static EmbeddedImage EmbedOne(FaceStack stack, string path, bool enforceQuality, bool rejectRivals)
    {
        try
        {
            using var frame = stack.Decoder.DecodeFile(path);
            var r = stack.Engine.AnalyzeSingle(frame, enforceQuality, rejectRivals);
            return r.Ok
                ? new EmbeddedImage(path, r.Embedding, null, null)
                : new EmbeddedImage(path, null, Codes.Of(r.Rejection!.Value), r.Detail);
        }
        catch (ImageDecodeException e)
        {
            return new EmbeddedImage(path, null, Codes.Of(e.Error), e.Message);
        }
    }

    public static (VerificationReport Report, int FailedImages, IReadOnlyList<ScoredPair> Scored, Dictionary<string, EmbeddedImage> Images)
        Evaluate(FaceStack stack, IReadOnlyList<LabelledPair> pairs, float threshold, bool progress)
    {
        var distinct = pairs.SelectMany(p => new[] { p.A, p.B }).Distinct(StringComparer.Ordinal).ToList();
        Dictionary<string, EmbeddedImage> images = null!;
        if (progress)
        {
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("embedding images", maxValue: distinct.Count);
                    images = EmbedAll(stack, distinct, () => task.Increment(1));
                });
        }
        else images = EmbedAll(stack, distinct);

        var scored = pairs.Select(p =>
        {
            var a = images[p.A].Embedding; var b = images[p.B].Embedding;
            return new ScoredPair(a is null || b is null ? null : stack.Matcher.Compare(a, b).Similarity, p.Same);
        }).ToList();
        var failedImages = images.Values.Count(i => i.Embedding is null);
        return (VerificationMetrics.Compute(scored, threshold), failedImages, scored, images);
    }

    /// <summary>The JSON object of <c>eval --json</c>: exactly the documented keys.</summary>
    public static JsonObject ToJson(VerificationReport r, int failedImages) => new()
    {
        ["pairs"] = r.Pairs,
        ["failed_images"] = failedImages,
        ["threshold"] = CliOutput.Round(r.Threshold),
        ["accuracy"] = CliOutput.Round(r.Accuracy),
        ["far"] = CliOutput.Round(r.Far),
        ["frr"] = CliOutput.Round(r.Frr),
        ["best_threshold"] = CliOutput.Round(r.BestThreshold),
        ["best_accuracy"] = CliOutput.Round(r.BestAccuracy),
        ["eer"] = CliOutput.Round(r.Eer),
        ["tar_at_far_1e-2"] = CliOutput.Round(r.TarAtFar1e2),
        ["tar_at_far_1e-3"] = CliOutput.Round(r.TarAtFar1e3),
    };

    public static void Print(VerificationReport r, int failedImages, int images, IReadOnlyList<ScoredPair> scored, Dictionary<string, EmbeddedImage> embedded)
    {
        var table = new Table().AddColumns("figure", "value");
        table.AddRow("pairs", r.Pairs.ToString());
        table.AddRow("images without a usable face", $"{failedImages} of {images}");
        table.AddRow("threshold (τ_verify)", r.Threshold.ToString("F4"));
        table.AddRow("accuracy at τ", r.Accuracy.ToString("P2"));
        table.AddRow("FAR at τ", r.Far.ToString("P3"));
        table.AddRow("FRR at τ", r.Frr.ToString("P3"));
        table.AddRow("best threshold / accuracy", $"{r.BestThreshold:F4} / {r.BestAccuracy:P2}");
        table.AddRow("EER", r.Eer.ToString("P3"));
        table.AddRow("TAR @ FAR 1e-2", r.TarAtFar1e2.ToString("P2"));
        table.AddRow("TAR @ FAR 1e-3", r.TarAtFar1e3.ToString("P2"));
        var genuine = scored.Where(s => s.Same && s.Score is not null).Select(s => s.Score!.Value).ToArray();
        var impostor = scored.Where(s => !s.Same && s.Score is not null).Select(s => s.Score!.Value).ToArray();
        if (genuine.Length > 0 && impostor.Length > 0)
        {
            table.AddRow("lowest genuine / highest impostor score", $"{genuine.Min():F4} / {impostor.Max():F4}");
            var fit = ScoreCalibration.Fit(scored.Where(s => s.Score is not null).Select(s => (s.Score!.Value, s.Same)).ToList());
            table.AddRow("P(same) fit on these pairs", $"σ({fit.A:F2}·s + {fit.B:F2})");
        }
        AnsiConsole.Write(table);
        foreach (var f in embedded.Values.Where(e => e.Embedding is null))
            AnsiConsole.MarkupLine($"[yellow]no usable face[/] {Markup.Escape(f.Path)}: {Markup.Escape(f.FailureCode ?? "")} {Markup.Escape(f.FailureMessage ?? "")}");
    }
}
