using EdgeGate.Camera;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Gallery;
using EdgeGate.Core.Liveness;
using EdgeGate.Core.Ports;
using EdgeGate.Onnx;

namespace EdgeGate.Composition;

/// <summary>Settings the CLI (and later the daemon) build the face stack from.</summary>
public sealed record FaceStackOptions
{
    public string? AssetsRoot { get; init; }
    public int IntraOpThreads { get; init; } = 1;

    /// <summary><c>auto</c>, <c>original</c> (or <c>fp32</c>), <c>fp32-fast</c> or <c>int8</c> (see <see cref="EmbedderVariants"/>).</summary>
    public string EmbedderVariant { get; init; } = EmbedderVariants.Auto;

    /// <summary>ORT graph optimisation level for the embedder; null = the variant's measured default.</summary>
    public int? EmbedderGraphOptimizationLevel { get; init; }

    /// <summary>Where prepared models are; null = <see cref="AssetLocator.PreparedDirectory"/>.</summary>
    public string? PreparedDirectory { get; init; }
    public DetectorOptions Detector { get; init; } = new();
    public FaceQualityOptions Quality { get; init; } = new();
    public MatchOptions Match { get; init; } = OperatingPoint.Match;
    public ImageDecoderOptions Decoder { get; init; } = new();

    /// <summary>Also load fr_liveness.onnx (the passive liveness check).</summary>
    public bool LoadLivenessModel { get; init; }
}

/// <summary>
/// The operating point for fr_feature with EdgeGate's recipe, chosen on the dev pairs (README, "Thresholds"):
/// τ_verify = 0.40 sits above every impostor score seen there (highest 0.351: FAR 0 with a 0.05 gap);
/// τ_identify = 0.45 and a 0.05 margin are stricter because 1:N gives a stranger K chances.
/// P(same) = σ(29.84·s − 9.97): the logistic fit on all 1,742 pairs with ridge 0.01. The pairs are almost
/// separable, so weaker regularisation fits them slightly better (held-apart log-loss 0.003 against 0.004–0.005)
/// but with a slope of 44 that would claim certainty on faces unlike the dev set.
/// </summary>
public static class OperatingPoint
{
    public static readonly MatchOptions Match = new() { VerifyThreshold = 0.40f, IdentifyThreshold = 0.45f, IdentifyMargin = 0.05f };
    public static readonly ScoreCalibration Calibration = new(29.84, -9.97);
}

/// <summary>Decoder + face engine + matcher wired together; owns the engine.</summary>
public sealed class FaceStack : IDisposable
{
    private FaceStack(IImageDecoder decoder, FaceEngine engine, GalleryMatcher matcher, string assetsRoot, OrtRuntime runtime, EmbedderChoice embedder, LivenessModel? liveness)
    {
        Decoder = decoder; Engine = engine; Matcher = matcher; AssetsRoot = assetsRoot; Runtime = runtime; Embedder = embedder; Liveness = liveness;
    }

    /// <summary>The passive liveness model, when <see cref="FaceStackOptions.LoadLivenessModel"/> asked for it.</summary>
    public LivenessModel? Liveness { get; }

    public IImageDecoder Decoder { get; }
    public FaceEngine Engine { get; }
    public GalleryMatcher Matcher { get; }
    public string AssetsRoot { get; }
    public OrtRuntime Runtime { get; }
    public string OrtVersion => Runtime.Version;

    /// <summary>The embedder variant running, its file and why it was chosen.</summary>
    public EmbedderChoice Embedder { get; }

    public static FaceStack Create(FaceStackOptions options)
    {
        var root = options.AssetsRoot ?? AssetLocator.Root();
        var runtime = OrtRuntime.Load(AssetLocator.OnnxRuntimeLibrary(root));
        var modelOptions = new FaceModelOptions
        {
            ModelsDirectory = AssetLocator.ModelsDirectory(root),
            PreparedDirectory = options.PreparedDirectory ?? AssetLocator.PreparedDirectory(root),
            EmbedderVariant = options.EmbedderVariant,
            EmbedderGraphOptimizationLevel = options.EmbedderGraphOptimizationLevel,
            Session = new OnnxSessionOptions { IntraOpThreads = options.IntraOpThreads },
            Detector = options.Detector,
            Quality = options.Quality,
        };
        var embedder = FaceModels.ChooseEmbedder(modelOptions);
        var engine = FaceModels.CreateEngine(runtime, modelOptions, embedder);
        LivenessModel? liveness = null;
        try
        {
            if (options.LoadLivenessModel)
                liveness = FaceModels.CreateLivenessModel(runtime, AssetLocator.ModelsDirectory(root), new OnnxSessionOptions { IntraOpThreads = options.IntraOpThreads });
        }
        catch
        {
            engine.Dispose();
            throw;
        }
        // A variant with its own re-derived operating point (int8: its card) runs with it, unless the caller set one.
        var (match, calibration) = embedder.Thresholds is { } t && ReferenceEquals(options.Match, OperatingPoint.Match)
            ? (new MatchOptions { VerifyThreshold = (float)t.Verify, IdentifyThreshold = (float)t.Identify, IdentifyMargin = (float)t.IdentifyMargin }, new ScoreCalibration(t.PSameA, t.PSameB))
            : (options.Match, OperatingPoint.Calibration);
        var matcher = new GalleryMatcher(engine.ModelId, match, calibration);
        return new FaceStack(new GstImageDecoder(options.Decoder), engine, matcher, root, runtime, embedder, liveness);
    }

    public void Dispose()
    {
        Engine.Dispose();
        Liveness?.Dispose();
    }
}
