using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using EdgeGate.Composition;
using EdgeGate.Onnx;
using Spectre.Console;

namespace EdgeGate.Cli;

/// <summary>
/// <c>edgegate bench</c>: per-stage timings on this device, for each embedder variant that is installed, so a technician
/// can see what the door will do here (BenchmarkDotNet under bench/ is the developers' tool; this one ships).
/// Medians and p95 over timed repetitions after a warm-up; nothing is asserted, the figures are reported.
/// </summary>
internal static class BenchCommand
{
    public static JsonObject Run(string image, int iterations, int threads, string? preparedDirectory)
    {
        if (iterations is < 3 or > 10_000) throw new CliError("invalid_argument", "--iterations must be 3..10000");
        var variants = new JsonArray();
        foreach (var variant in EmbedderVariants.Concrete)
        {
            FaceStack stack;
            try
            {
                stack = FaceStack.Create(new FaceStackOptions { IntraOpThreads = threads, EmbedderVariant = variant, PreparedDirectory = preparedDirectory });
            }
            catch (Exception e) when (variant != EmbedderVariants.Original && e is FileNotFoundException or InvalidDataException)
            {
                variants.Add(new JsonObject { ["variant"] = variant, ["available"] = false, ["reason"] = e.Message });
                continue;
            }
            using (stack)
            {
                using var frame = stack.Decoder.DecodeFile(image);
                var faces = stack.Engine.Observe(frame);
                if (faces.Count == 0) throw new CliError("no_face", $"{image}: no face found; bench needs a photo with a face");
                stack.Engine.WarmUp();
                var decode = Time(iterations, () => { using var f = stack.Decoder.DecodeFile(image); });
                var observe = Time(iterations, () => stack.Engine.Observe(frame));
                var embed = Time(iterations, () => stack.Engine.Embed(faces[0]));
                variants.Add(new JsonObject
                {
                    ["variant"] = variant,
                    ["available"] = true,
                    ["embedder"] = stack.Embedder.ModelPath,
                    ["graph_optimization_level"] = stack.Embedder.GraphOptimizationLevel,
                    ["decode_ms"] = Stats(decode),
                    // detect + landmarks + align + quality: the cost of every frame a face is in
                    ["observe_ms"] = Stats(observe),
                    // face and mirror through the embedder: paid on the frames that lead to a decision
                    ["embed_ms"] = Stats(embed),
                    ["tracking_fps"] = Math.Round(1000 / Median(observe), 1),
                    ["decision_frame_ms"] = Math.Round(Median(observe) + Median(embed), 2),
                });
            }
        }
        var fastest = variants.Select(v => v!.AsObject()).Where(v => (bool)v["available"]!)
            .OrderBy(v => (double)v["embed_ms"]!["median"]!).First();
        return new JsonObject
        {
            ["image"] = image,
            ["iterations"] = iterations,
            ["threads"] = threads,
            ["machine"] = $"{RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}",
            ["variants"] = variants,
            ["fastest_embedder"] = (string)fastest["variant"]!,
        };
    }

    public static void Print(JsonObject o)
    {
        var table = new Table().AddColumns("variant", "decode ms", "detect+landmarks+align ms", "embed ms", "tracking fps", "decision frame ms");
        var missing = new List<string>();
        foreach (var v in o["variants"]!.AsArray().Select(v => v!.AsObject()))
        {
            if (!(bool)v["available"]!)
            {
                table.AddRow((string)v["variant"]!, "-", "-", "-", "-", "not installed");
                missing.Add($"{(string)v["variant"]!}: {(string)v["reason"]!}");
                continue;
            }
            static string Cell(JsonNode n) => $"{n["median"]} (p95 {n["p95"]})";
            table.AddRow((string)v["variant"]!, Cell(v["decode_ms"]!), Cell(v["observe_ms"]!), Cell(v["embed_ms"]!), $"{v["tracking_fps"]}", $"{v["decision_frame_ms"]}");
        }
        AnsiConsole.Write(table);
        foreach (var m in missing) AnsiConsole.MarkupLine(Markup.Escape(m));
        AnsiConsole.MarkupLine($"{Markup.Escape((string)o["machine"]!)}; {o["threads"]} ORT thread(s), {o["iterations"]} runs each; fastest embedder here: [green]{o["fastest_embedder"]}[/]");
    }

    private static double[] Time(int n, Action action)
    {
        var samples = new double[n];
        for (var i = 0; i < n; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(samples);
        return samples;
    }

    private static double Median(double[] sorted) => sorted[sorted.Length / 2];

    private static JsonObject Stats(double[] sorted) => new()
    {
        ["median"] = Math.Round(Median(sorted), 2),
        ["p95"] = Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(0.95 * sorted.Length) - 1)], 2),
        ["min"] = Math.Round(sorted[0], 2),
    };
}
