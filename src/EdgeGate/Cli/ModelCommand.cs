using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using EdgeGate.Core.Evaluation;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Ports;
using EdgeGate.Composition;
using EdgeGate.ModelPrep;
using EdgeGate.Onnx;

namespace EdgeGate.Cli;

/// <summary><c>edgegate model prepare</c>: the verified fast embedder and its model card.</summary>
public static class ModelCommand
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png"];

    /// <summary>The photos to verify on: --faces, else $EDGEGATE_FACES/people.</summary>
    public static string FacesDirectory(string? option)
    {
        if (!string.IsNullOrEmpty(option)) return option;
        if (Environment.GetEnvironmentVariable("EDGEGATE_FACES") is { Length: > 0 } env) return Path.Combine(env, "people");
        throw new CliError("missing_faces", "model prepare verifies on real faces: pass --faces DIR (photos, searched recursively) or set EDGEGATE_FACES");
    }

    /// <summary>The labelled pairs the int8 gate runs on: --pairs, else pairs.csv beside the faces folder.</summary>
    public static string? PairsFile(string? option, string facesDirectory)
    {
        if (!string.IsNullOrEmpty(option)) return option;
        var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(facesDirectory).TrimEnd('/'))!, "pairs.csv");
        return File.Exists(beside) ? beside : null;
    }

    public static JsonObject Prepare(string? sourceOption, string? facesOption, string? outputOption, int maxFaces, double tolerance, int threads)
        => Prepare(sourceOption, facesOption, outputOption, maxFaces, tolerance, threads, variants: null, pairsOption: null, activations: null);

    /// <param name="variants">fp32-fast and/or int8; null = both when a pairs file is found, else fp32-fast.</param>
    /// <param name="activations">uint8 or int8; null = the architecture's (uint8 on x86).</param>
    public static JsonObject Prepare(string? sourceOption, string? facesOption, string? outputOption, int maxFaces, double tolerance, int threads,
        IReadOnlyList<string>? variants, string? pairsOption, string? activations)
    {
        foreach (var v in variants ?? [])
            if (v is not (EmbedderVariants.Fast or EmbedderVariants.Int8))
                throw new CliError("invalid_argument", $"--variants takes {EmbedderVariants.Fast} and/or {EmbedderVariants.Int8}, got '{v}'");
        var activationType = activations switch
        {
            null => Int8Options.DefaultActivations,
            "uint8" => ActivationType.UInt8,
            "int8" => ActivationType.Int8,
            _ => throw new CliError("invalid_argument", $"--activations must be uint8 or int8, got '{activations}'"),
        };
        if (maxFaces < ModelPreparer.MinimumFaces) throw new CliError("invalid_argument", $"--max-faces must be at least {ModelPreparer.MinimumFaces}");
        var faces = FacesDirectory(facesOption);
        if (!Directory.Exists(faces)) throw new CliError("missing_faces", $"faces folder not found: {faces}");
        // The original embedder aligns the faces; the fast one is what is being checked.
        using var stack = FaceStack.Create(new FaceStackOptions { IntraOpThreads = threads, EmbedderVariant = EmbedderVariants.Original });
        var source = sourceOption ?? Path.Combine(AssetLocator.ModelsDirectory(stack.AssetsRoot), EmbedderVariants.OriginalFileName);
        OnnxGraphs.Read(source); // a missing or corrupt model fails now, before the faces are aligned
        var aligned = AlignedFaces(stack, faces, maxFaces);
        if (aligned.Count == 0) throw new CliError("missing_faces", $"no face found in the photos under {faces}");
        var output = Path.GetFullPath(outputOption ?? AssetLocator.PreparedDirectory(stack.AssetsRoot));
        var pairsFile = PairsFile(pairsOption, faces);
        var wanted = variants ?? (pairsFile is null ? [EmbedderVariants.Fast] : [EmbedderVariants.Fast, EmbedderVariants.Int8]);
        if (wanted.Contains(EmbedderVariants.Int8) && pairsFile is null)
            throw new CliError("missing_pairs", $"the int8 model is gated on labelled pairs: pass --pairs FILE (none beside {faces})");
        JsonObject report = wanted.Contains(EmbedderVariants.Fast)
            ? PrepareFast(stack, source, output, aligned, faces, tolerance, threads)
            : new JsonObject();
        if (wanted.Contains(EmbedderVariants.Int8))
            report["int8"] = PrepareInt8(stack, source, output, faces, pairsFile!, maxFaces, activationType, threads);
        report["bench"] = WriteBench(stack, output, aligned[0], threads);
        return report;
    }

    private static JsonObject PrepareFast(FaceStack stack, string source, string output, List<byte[]> aligned, string faces, double tolerance, int threads)
    {
        PrepareResult result;
        try
        {
            result = ModelPreparer.PrepareFast(stack.Runtime, new PrepareOptions
            {
                Source = source,
                OutputDirectory = output,
                AlignedFaces = aligned,
                FaceSource = $"{aligned.Count} faces from {Path.GetFullPath(faces)}",
                Tolerance = tolerance,
                Threads = threads,
            });
        }
        catch (ModelRefusedException e) { throw new CliError("model_refused", e.Message); }
        var c = result.Card;
        return new JsonObject
        {
            ["variant"] = c.Variant,
            ["model"] = result.ModelPath,
            ["card"] = result.CardPath,
            ["source_sha256"] = c.SourceSha256,
            ["sha256"] = c.Sha256,
            ["nodes_replaced"] = c.NodesReplaced,
            ["faces"] = c.Verification.Faces,
            ["max_abs_diff"] = c.Verification.MaxAbsDiff,
            ["min_cosine"] = c.Verification.MinCosine,
            ["tolerance"] = c.Verification.Tolerance,
        };
    }

    /// <summary>
    /// Calibration and gate sets are disjoint by person: the folders with the fewest photos (then by name) go to
    /// calibration until it has <paramref name="calibrationFaces"/> faces, so the gate keeps most genuine pairs;
    /// the gate runs on every pair whose two photos are both outside those folders.
    /// </summary>
    private static JsonObject PrepareInt8(FaceStack stack, string source, string output, string faces, string pairsFile,
        int calibrationFaces, ActivationType activations, int threads)
    {
        IReadOnlyList<LabelledPair> pairs;
        try { pairs = PairsCsv.Read(pairsFile); }
        catch (Exception e) when (e is FormatException or IOException) { throw new CliError("invalid_pairs", e.Message); }
        var people = Directory.GetDirectories(faces)
            .Select(d => (Dir: Path.GetFullPath(d), Photos: Directory.EnumerateFiles(d).Count(p => ImageExtensions.Contains(Path.GetExtension(p).ToLowerInvariant()))))
            .OrderBy(p => p.Photos).ThenBy(p => Path.GetFileName(p.Dir), StringComparer.Ordinal).ToList();
        var calibration = new List<byte[]>();
        var calibrationPeople = new List<string>();
        foreach (var person in people)
        {
            if (calibration.Count >= calibrationFaces) break;
            calibration.AddRange(AlignedFaces(stack, person.Dir, int.MaxValue));
            calibrationPeople.Add(Path.GetFileName(person.Dir));
        }
        var excluded = calibrationPeople.Select(p => Path.Combine(Path.GetFullPath(faces), p) + Path.DirectorySeparatorChar).ToList();
        bool InCalibration(string path) => excluded.Any(e => Path.GetFullPath(path).StartsWith(e, StringComparison.Ordinal));
        var gatePairs = pairs.Where(p => !InCalibration(p.A) && !InCalibration(p.B)).ToList();
        var gateFaces = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var image in gatePairs.SelectMany(p => new[] { p.A, p.B }).Distinct(StringComparer.Ordinal))
        {
            try
            {
                using var frame = stack.Decoder.DecodeFile(image);
                if (stack.Engine.Observe(frame) is [var face, ..]) gateFaces[image] = face.AlignedBgr;
            }
            catch (ImageDecodeException) { } // the gate counts it: a pair without both embeddings fails it
        }
        PrepareResult result;
        var started = Stopwatch.GetTimestamp();
        try
        {
            result = Int8Preparer.Prepare(stack.Runtime, new Int8Options
            {
                Source = source,
                OutputDirectory = output,
                CalibrationFaces = calibration,
                CalibrationSet = $"{calibration.Count} faces of {calibrationPeople.Count} people ({string.Join(", ", calibrationPeople)}) from {Path.GetFullPath(faces)}",
                GateFaces = gateFaces,
                GatePairs = gatePairs,
                GateSet = $"{gatePairs.Count} of the {pairs.Count} pairs in {Path.GetFullPath(pairsFile)} (those without a calibration person), {gateFaces.Count} images",
                Activations = activations,
                Threads = threads,
            }, m => Console.Error.WriteLine($"int8: {m}"));
        }
        catch (ModelRefusedException e) { throw new CliError("model_refused", e.Message); }
        var c = result.Card;
        return new JsonObject
        {
            ["variant"] = c.Variant,
            ["model"] = result.ModelPath,
            ["card"] = result.CardPath,
            ["sha256"] = c.Sha256,
            ["quantized_nodes"] = c.Quantization!.QuantizedNodes,
            ["float_nodes"] = new JsonArray(c.Quantization.FloatNodes.Select(n => (JsonNode)n).ToArray()),
            ["mean_cosine"] = c.Gate!.MeanCosine,
            ["flipped"] = c.Gate.Flipped,
            ["pairs"] = c.Gate.Pairs,
            ["tar_reference"] = c.Gate.TarReference,
            ["tar_int8"] = c.Gate.TarCandidate,
            ["cross_tar"] = c.Gate.CrossTar,
            ["cross_flipped"] = c.Gate.CrossFlipped,
            ["threshold_verify"] = c.Thresholds!.Verify,
            ["seconds"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 1),
        };
    }

    /// <summary>
    /// A first embedder-bench.json, so <c>auto</c> can pick the fastest variant right after set-up: each variant
    /// that is present and verified embeds one face (and its mirror), interleaved, and the medians are written.
    /// <c>edgegate bench</c> measures more thoroughly and overwrites it.
    /// </summary>
    private static JsonObject WriteBench(FaceStack stack, string prepared, byte[] face, int threads)
    {
        const int rounds = 15;
        var models = AssetLocator.ModelsDirectory(stack.AssetsRoot);
        var embedders = new List<(string Variant, FaceEmbedder Embedder, List<double> Ms)>();
        try
        {
            foreach (var v in EmbedderVariants.Concrete)
            {
                EmbedderChoice choice;
                try { choice = FaceModels.ChooseEmbedder(new FaceModelOptions { ModelsDirectory = models, PreparedDirectory = prepared, EmbedderVariant = v }); }
                catch (Exception e) when (e is FileNotFoundException or InvalidDataException) { continue; }
                var model = OnnxModel.Load(stack.Runtime, choice.ModelPath,
                    new OnnxSessionOptions { IntraOpThreads = threads, GraphOptimizationLevel = choice.GraphOptimizationLevel }, FaceModels.EmbedderInputs, FaceModels.EmbedderOutputs);
                var embedder = new FaceEmbedder(model, choice.ModelId);
                embedder.Embed(face);
                embedders.Add((v, embedder, []));
            }
            var embedding = new float[FaceEmbedder.Dimension];
            for (var r = 0; r < rounds; r++)
                foreach (var (_, embedder, ms) in embedders)
                {
                    var start = Stopwatch.GetTimestamp();
                    embedder.Embed(face, embedding);
                    ms.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
        }
        finally
        {
            foreach (var e in embedders) e.Embedder.Dispose();
        }
        var embedMs = new JsonObject();
        foreach (var (v, _, ms) in embedders) embedMs[v] = Math.Round(ms.Order().ElementAt(ms.Count / 2), 2);
        var bench = new JsonObject
        {
            ["measured_utc"] = DateTimeOffset.UtcNow.ToString("O"),
            ["machine"] = $"{RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}",
            ["ort_version"] = stack.OrtVersion,
            ["threads"] = threads,
            ["embed_ms"] = embedMs,
            ["source"] = $"edgegate model prepare: one face and its mirror, median of {rounds} interleaved runs",
        };
        var path = Path.Combine(prepared, EmbedderVariants.BenchFileName);
        File.WriteAllText(path + ".part", bench.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        File.Move(path + ".part", path, overwrite: true);
        return bench;
    }

    /// <summary>The largest face of each photo (sorted paths, so the set is repeatable), aligned as the product aligns it.</summary>
    public static List<byte[]> AlignedFaces(FaceStack stack, string directory, int max)
    {
        var aligned = new List<byte[]>();
        var photos = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(p => ImageExtensions.Contains(Path.GetExtension(p).ToLowerInvariant()))
            .Order(StringComparer.Ordinal);
        foreach (var photo in photos)
        {
            if (aligned.Count >= max) break;
            try
            {
                using var frame = stack.Decoder.DecodeFile(photo);
                if (stack.Engine.Observe(frame) is [var face, ..]) aligned.Add(face.AlignedBgr);
            }
            catch (ImageDecodeException) { } // not every file in a folder need be a usable photo
        }
        return aligned;
    }
}
