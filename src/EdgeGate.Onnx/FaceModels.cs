using EdgeGate.Core.Faces;
using EdgeGate.Core.Liveness;

namespace EdgeGate.Onnx;

/// <summary>Where the face models are and how to run them.</summary>
public sealed record FaceModelOptions
{
    /// <summary>Folder holding fr_detect.onnx, fr_landmark.onnx and fr_feature.onnx.</summary>
    public required string ModelsDirectory { get; init; }

    public OnnxSessionOptions Session { get; init; } = new();
    public DetectorOptions Detector { get; init; } = new();
    public FaceQualityOptions Quality { get; init; } = new();

    /// <summary>
    /// Which embedder to run: <see cref="EmbedderVariants.Original"/>, <see cref="EmbedderVariants.Fast"/> or
    /// <see cref="EmbedderVariants.Int8"/> (must be present and verified, else an error), or
    /// <see cref="EmbedderVariants.Auto"/> (see <see cref="FaceModels.ChooseEmbedder"/>).
    /// </summary>
    public string EmbedderVariant { get; init; } = EmbedderVariants.Auto;

    /// <summary>Folder holding prepared models (edgegate model prepare); null = <see cref="ModelsDirectory"/>.</summary>
    public string? PreparedDirectory { get; init; }

    /// <summary>
    /// Graph optimisation for fr_feature; null = the variant's measured best
    /// (<see cref="EmbedderVariants.DefaultGraphOptimizationLevel"/>). The detector and landmark models keep
    /// <see cref="Session"/>'s level.
    /// </summary>
    public int? EmbedderGraphOptimizationLevel { get; init; }

    /// <summary>Sum the embeddings of the face and its mirror image (one extra embedder run; a little more accurate).</summary>
    public bool FlipAugment { get; init; } = true;
}

/// <summary>Builds the face engine over the model package's ONNX files, with each model's signature checked.</summary>
public static class FaceModels
{
    /// <summary>Changes whenever the embedding recipe changes, so older templates are flagged for re-enrolment.</summary>
    public const string EmbeddingRecipe = "sim5-bgr-aa";

    public static readonly TensorSpec[] DetectorInputs = [new("input", 1, 3, UltraFaceDetector.InputHeight, UltraFaceDetector.InputWidth)];
    public static readonly TensorSpec[] DetectorOutputs = [new("scores", 1, UltraFaceDetector.Anchors, 2), new("boxes", 1, UltraFaceDetector.Anchors, 4)];
    public static readonly TensorSpec[] LandmarkInputs = [new("input", 1, 1, LandmarkDetector.InputSize, LandmarkDetector.InputSize)];
    public static readonly TensorSpec[] LandmarkOutputs = [new("output", 1, LandmarkDetector.PointCount * 2)];
    public static readonly TensorSpec[] EmbedderInputs = [new("input", 1, 3, FaceAligner.Size, FaceAligner.Size)];
    public static readonly TensorSpec[] EmbedderOutputs = [new("output", 1, FaceEmbedder.Dimension)];
    public static readonly TensorSpec[] LivenessInputs = [new("input", 1, 3, LivenessModel.InputSize, LivenessModel.InputSize)];
    public static readonly TensorSpec[] LivenessOutputs = [new("output", 1, LivenessModel.Classes)];

    /// <summary>fr_liveness.onnx from <paramref name="modelsDirectory"/>, signature checked.</summary>
    public static LivenessModel CreateLivenessModel(OrtRuntime runtime, string modelsDirectory, OnnxSessionOptions session) =>
        new(OnnxModel.Load(runtime, Path.Combine(modelsDirectory, "fr_liveness.onnx"), session, LivenessInputs, LivenessOutputs));

    /// <param name="embedder">the embedder to run, from <see cref="ChooseEmbedder"/>; null = choose now.</param>
    public static FaceEngine CreateEngine(OrtRuntime runtime, FaceModelOptions options, EmbedderChoice? embedder = null)
    {
        options.Detector.Validate();
        options.Quality.Validate();
        var dir = options.ModelsDirectory;
        OnnxModel? detect = null, landmark = null, feature = null;
        try
        {
            detect = OnnxModel.Load(runtime, Path.Combine(dir, "fr_detect.onnx"), options.Session, DetectorInputs, DetectorOutputs);
            landmark = OnnxModel.Load(runtime, Path.Combine(dir, "fr_landmark.onnx"), options.Session, LandmarkInputs, LandmarkOutputs);
            embedder ??= ChooseEmbedder(options);
            feature = OnnxModel.Load(runtime, embedder.ModelPath,
                options.Session with { GraphOptimizationLevel = embedder.GraphOptimizationLevel }, EmbedderInputs, EmbedderOutputs);
            return new FaceEngine(
                new UltraFaceDetector(detect, options.Detector),
                new LandmarkDetector(landmark),
                new FaceEmbedder(feature, embedder.ModelId, options.FlipAugment),
                options.Quality);
        }
        catch
        {
            detect?.Dispose(); landmark?.Dispose(); feature?.Dispose();
            throw;
        }
    }

    /// <summary>"fr_feature@&lt;first 12 hex of the file's SHA-256&gt;/&lt;recipe&gt;": templates are only comparable within one id.</summary>
    public static string ModelId(string featureModelPath, bool flipAugment) =>
        ModelId(Path.GetFileNameWithoutExtension(featureModelPath), EmbedderVariants.Sha256(featureModelPath), flipAugment);

    private static string ModelId(string stem, string sha256, bool flipAugment) =>
        $"{stem}@{sha256[..12]}/{EmbeddingRecipe}{(flipAugment ? "-flip" : "")}";

    /// <summary>
    /// Picks the embedder file, its optimisation level, its model id and its thresholds.
    /// <para>Model id: every variant keeps the original's (<c>fr_feature@&lt;original sha&gt;/…</c>), so templates
    /// enrolled with any of them are compared with each other and switching needs no re-enrolment. fp32-fast's
    /// outputs were verified equal within 1e-5; int8's differ, but its card shows that its embeddings keep a mean
    /// cosine ≥ 0.99 to the original's and that probes from it against templates from the original flip no more
    /// decisions than the gate allows (<see cref="ModelCardGate.CrossFlipped"/>), so a gallery enrolled before a switch stays usable.</para>
    /// <para>A prepared model is used only when its card names the installed original's SHA-256 and its own.</para>
    /// <para><c>auto</c>: the fastest variant measured in the prepared folder's embedder-bench.json whose card
    /// verifies (the original always does); without that file, fp32-fast when verified, else the original.
    /// The reason is in <see cref="EmbedderChoice.Reason"/>.</para>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">an unknown variant.</exception>
    /// <exception cref="FileNotFoundException">the original, or an explicitly requested prepared model, is missing.</exception>
    /// <exception cref="InvalidDataException">an explicitly requested prepared model that does not match its card or the original.</exception>
    public static EmbedderChoice ChooseEmbedder(FaceModelOptions options)
    {
        if (!EmbedderVariants.IsValid(options.EmbedderVariant))
            throw new ArgumentOutOfRangeException(nameof(options), options.EmbedderVariant, $"embedder variant must be one of {string.Join(", ", EmbedderVariants.Accepted)}");
        var variant = EmbedderVariants.Canonical(options.EmbedderVariant);
        var original = Path.Combine(options.ModelsDirectory, EmbedderVariants.OriginalFileName);
        if (!File.Exists(original)) throw new FileNotFoundException($"model not found: {original}; run scripts/setup.sh", original);
        var originalSha = EmbedderVariants.Sha256(original);
        var id = ModelId(Path.GetFileNameWithoutExtension(original), originalSha, options.FlipAugment);
        EmbedderChoice Choice(string v, string path, string? reason, ModelCardThresholds? thresholds = null) =>
            new(v, path, options.EmbedderGraphOptimizationLevel ?? EmbedderVariants.DefaultGraphOptimizationLevel(v), id, reason, thresholds);

        if (variant == EmbedderVariants.Original) return Choice(EmbedderVariants.Original, original, "configured");
        var prepared = options.PreparedDirectory ?? options.ModelsDirectory;
        string PathOf(string v) => Path.Combine(prepared, EmbedderVariants.FileName(v));
        if (variant != EmbedderVariants.Auto)
        {
            var (problem, card) = PreparedModelProblem(PathOf(variant), variant, originalSha);
            if (problem is null) return Choice(variant, PathOf(variant), "configured", card!.Thresholds);
            if (!File.Exists(PathOf(variant))) throw new FileNotFoundException($"{problem}; run `edgegate model prepare`", PathOf(variant));
            throw new InvalidDataException($"{problem}; run `edgegate model prepare` again");
        }

        var skipped = new List<string>();
        var (times, benchProblem) = ReadBench(Path.Combine(prepared, EmbedderVariants.BenchFileName));
        foreach (var (v, ms) in times.OrderBy(t => t.Value))
        {
            var why = $"auto: fastest measured in {EmbedderVariants.BenchFileName} ({ms:0.##} ms){(skipped.Count > 0 ? "; skipped " + string.Join("; ", skipped) : "")}";
            if (v == EmbedderVariants.Original) return Choice(v, original, why);
            var (problem, card) = PreparedModelProblem(PathOf(v), v, originalSha);
            if (problem is null) return Choice(v, PathOf(v), why + ", card verified", card!.Thresholds);
            skipped.Add($"{v}: {problem}");
        }
        var fastProblem = PreparedModelProblem(PathOf(EmbedderVariants.Fast), EmbedderVariants.Fast, originalSha).Problem;
        var context = benchProblem ?? (skipped.Count > 0 ? "no measured variant usable (" + string.Join("; ", skipped) + ")" : "");
        if (fastProblem is null) return Choice(EmbedderVariants.Fast, PathOf(EmbedderVariants.Fast), $"auto: prepared and verified; {context}");
        return Choice(EmbedderVariants.Original, original, $"auto: {fastProblem}; {context}");
    }

    /// <summary>
    /// embed_ms of each known variant from embedder-bench.json (written by <c>edgegate bench</c> and
    /// <c>edgegate model prepare</c>); empty with the reason when the file is missing or unreadable.
    /// </summary>
    public static (IReadOnlyDictionary<string, double> EmbedMs, string? Problem) ReadBench(string path)
    {
        var empty = new Dictionary<string, double>();
        if (!File.Exists(path)) return (empty, $"no {EmbedderVariants.BenchFileName} in {Path.GetDirectoryName(path)}");
        try
        {
            var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path));
            if (root?["embed_ms"] is not System.Text.Json.Nodes.JsonObject embed) return (empty, $"{path} has no embed_ms object");
            var times = new Dictionary<string, double>();
            foreach (var (name, value) in embed)
            {
                var v = EmbedderVariants.IsValid(name) ? EmbedderVariants.Canonical(name) : null;
                if (v is null || v == EmbedderVariants.Auto || value is null) continue;
                if (value.GetValueKind() == System.Text.Json.JsonValueKind.Number && value.GetValue<double>() is var ms && ms > 0 && double.IsFinite(ms))
                    times[v] = ms;
            }
            return times.Count == 0 ? (empty, $"{path} measures no known variant") : (times, null);
        }
        catch (System.Text.Json.JsonException e) { return (empty, $"{path} is not valid JSON: {e.Message}"); }
    }

    private static (string? Problem, ModelCard? Card) PreparedModelProblem(string path, string variant, string originalSha)
    {
        if (!File.Exists(path)) return ($"no prepared model at {path}", null);
        ModelCard? card;
        try { card = ModelCard.ReadFor(path); }
        catch (InvalidDataException e) { return (e.Message, null); }
        if (card is null) return ($"{path} has no model card ({ModelCard.PathFor(path)})", null);
        if (card.Variant != variant) return ($"{ModelCard.PathFor(path)} describes variant '{card.Variant}'", null);
        if (!string.Equals(card.SourceSha256, originalSha, StringComparison.OrdinalIgnoreCase))
            return ($"{path} was prepared from another {EmbedderVariants.OriginalFileName} (sha256 {card.SourceSha256[..Math.Min(12, card.SourceSha256.Length)]}…)", null);
        if (!string.Equals(card.Sha256, EmbedderVariants.Sha256(path), StringComparison.OrdinalIgnoreCase))
            return ($"{path} does not match the sha256 in its model card", null);
        // A model whose outputs differ from the original's runs only with the gate passed and its own thresholds.
        if (variant == EmbedderVariants.Int8 && (card.Gate is null || card.Thresholds is null))
            return ($"{ModelCard.PathFor(path)} has no accuracy-gate figures or thresholds", null);
        return (null, card);
    }
}
