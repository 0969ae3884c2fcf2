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
    /// Which embedder to run: <see cref="EmbedderVariants.Original"/>, <see cref="EmbedderVariants.Fast"/> (must be
    /// present and verified, else an error) or <see cref="EmbedderVariants.Auto"/> (the fast one when it is present
    /// and was prepared from the installed original, else the original).
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
    /// Picks the embedder file, its optimisation level and its model id. The fast variant keeps the original's
    /// model id: its outputs were verified equal within 1e-5 (on unnormalised embeddings of norm 1.5–3), which moves
    /// a cosine by about 1e-5, far below the 0.05 gap between the operating threshold and the nearest dev scores;
    /// so templates enrolled with either variant stay comparable and no re-enrolment is needed. Its card must name
    /// the installed original's SHA-256 and its own, so a fast model prepared from another original is never used.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">an unknown variant.</exception>
    /// <exception cref="FileNotFoundException">the original, or an explicitly requested fast model, is missing.</exception>
    /// <exception cref="InvalidDataException">an explicitly requested fast model that does not match its card or the original.</exception>
    public static EmbedderChoice ChooseEmbedder(FaceModelOptions options)
    {
        var variant = options.EmbedderVariant;
        if (!EmbedderVariants.IsValid(variant))
            throw new ArgumentOutOfRangeException(nameof(options), variant, $"embedder variant must be one of {string.Join(", ", EmbedderVariants.All)}");
        var original = Path.Combine(options.ModelsDirectory, EmbedderVariants.OriginalFileName);
        if (!File.Exists(original)) throw new FileNotFoundException($"model not found: {original}; run scripts/setup.sh", original);
        var originalSha = EmbedderVariants.Sha256(original);
        var id = ModelId(Path.GetFileNameWithoutExtension(original), originalSha, options.FlipAugment);
        EmbedderChoice Choice(string v, string path, string? reason) =>
            new(v, path, options.EmbedderGraphOptimizationLevel ?? EmbedderVariants.DefaultGraphOptimizationLevel(v), id, reason);

        if (variant == EmbedderVariants.Original) return Choice(EmbedderVariants.Original, original, "configured");
        var fast = Path.Combine(options.PreparedDirectory ?? options.ModelsDirectory, EmbedderVariants.FastFileName);
        var problem = FastModelProblem(fast, originalSha);
        if (problem is null) return Choice(EmbedderVariants.Fast, fast, variant == EmbedderVariants.Auto ? "auto: prepared and verified" : "configured");
        if (variant == EmbedderVariants.Auto) return Choice(EmbedderVariants.Original, original, $"auto: {problem}");
        if (!File.Exists(fast)) throw new FileNotFoundException($"{problem}; run `edgegate model prepare`", fast);
        throw new InvalidDataException($"{problem}; run `edgegate model prepare` again");
    }

    private static string? FastModelProblem(string fast, string originalSha)
    {
        if (!File.Exists(fast)) return $"no prepared model at {fast}";
        ModelCard? card;
        try { card = ModelCard.ReadFor(fast); }
        catch (InvalidDataException e) { return e.Message; }
        if (card is null) return $"{fast} has no model card ({ModelCard.PathFor(fast)})";
        if (card.Variant != EmbedderVariants.Fast) return $"{ModelCard.PathFor(fast)} describes variant '{card.Variant}'";
        if (!string.Equals(card.SourceSha256, originalSha, StringComparison.OrdinalIgnoreCase))
            return $"{fast} was prepared from another {EmbedderVariants.OriginalFileName} (sha256 {card.SourceSha256[..Math.Min(12, card.SourceSha256.Length)]}…)";
        if (!string.Equals(card.Sha256, EmbedderVariants.Sha256(fast), StringComparison.OrdinalIgnoreCase))
            return $"{fast} does not match the sha256 in its model card";
        return null;
    }
}
