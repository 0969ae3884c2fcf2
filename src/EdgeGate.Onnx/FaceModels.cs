using System.Security.Cryptography;
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
    /// Graph optimisation for fr_feature. Measured (ORT 1.30, x64, 1 thread): 75 ms at level 99 against 24 ms at
    /// level 1 — the NCHWc layout pass wraps each of the 33 PRelu in layout reorders. The detector and landmark
    /// models are the other way round (2.2 vs 7.3 ms), so they keep <see cref="Session"/>'s level.
    /// </summary>
    public int EmbedderGraphOptimizationLevel { get; init; } = 1;

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

    public static FaceEngine CreateEngine(OrtRuntime runtime, FaceModelOptions options)
    {
        options.Detector.Validate();
        options.Quality.Validate();
        var dir = options.ModelsDirectory;
        OnnxModel? detect = null, landmark = null, feature = null;
        try
        {
            detect = OnnxModel.Load(runtime, Path.Combine(dir, "fr_detect.onnx"), options.Session, DetectorInputs, DetectorOutputs);
            landmark = OnnxModel.Load(runtime, Path.Combine(dir, "fr_landmark.onnx"), options.Session, LandmarkInputs, LandmarkOutputs);
            var featurePath = Path.Combine(dir, "fr_feature.onnx");
            feature = OnnxModel.Load(runtime, featurePath,
                options.Session with { GraphOptimizationLevel = options.EmbedderGraphOptimizationLevel }, EmbedderInputs, EmbedderOutputs);
            return new FaceEngine(
                new UltraFaceDetector(detect, options.Detector),
                new LandmarkDetector(landmark),
                new FaceEmbedder(feature, ModelId(featurePath, options.FlipAugment), options.FlipAugment),
                options.Quality);
        }
        catch
        {
            detect?.Dispose(); landmark?.Dispose(); feature?.Dispose();
            throw;
        }
    }

    /// <summary>"fr_feature@&lt;first 12 hex of the file's SHA-256&gt;/&lt;recipe&gt;": templates are only comparable within one id.</summary>
    public static string ModelId(string featureModelPath, bool flipAugment)
    {
        using var stream = File.OpenRead(featureModelPath);
        var hash = Convert.ToHexStringLower(SHA256.HashData(stream))[..12];
        return $"{Path.GetFileNameWithoutExtension(featureModelPath)}@{hash}/{EmbeddingRecipe}{(flipAugment ? "-flip" : "")}";
    }
}
