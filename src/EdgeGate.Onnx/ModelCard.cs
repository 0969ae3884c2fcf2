using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeGate.Onnx;

/// <summary>Written beside every prepared model as &lt;model&gt;.card.json: what it was made from, how, and how it was checked.</summary>
public sealed record ModelCard
{
    [JsonPropertyName("variant")] public required string Variant { get; init; }
    [JsonPropertyName("file")] public required string File { get; init; }
    [JsonPropertyName("sha256")] public required string Sha256 { get; init; }
    [JsonPropertyName("source_file")] public required string SourceFile { get; init; }
    [JsonPropertyName("source_sha256")] public required string SourceSha256 { get; init; }
    [JsonPropertyName("recipe")] public required string Recipe { get; init; }
    [JsonPropertyName("opset")] public required long Opset { get; init; }
    [JsonPropertyName("nodes_replaced")] public required int NodesReplaced { get; init; }
    [JsonPropertyName("verification")] public required ModelCardVerification Verification { get; init; }
    [JsonPropertyName("created_utc")] public required DateTimeOffset CreatedUtc { get; init; }

    /// <summary>Quantised variants: how (weights, activations, calibration, which layers stayed float and why).</summary>
    [JsonPropertyName("quantization")] public ModelCardQuantization? Quantization { get; init; }

    /// <summary>Variants whose outputs differ from the original's: the accuracy gate's figures.</summary>
    [JsonPropertyName("gate")] public ModelCardGate? Gate { get; init; }

    /// <summary>The operating point re-derived for this variant; null = the original's.</summary>
    [JsonPropertyName("thresholds")] public ModelCardThresholds? Thresholds { get; init; }
    [JsonPropertyName("tool")] public string Tool { get; init; } = "edgegate model prepare";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string PathFor(string modelPath) => Path.ChangeExtension(modelPath, ".card.json");

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The card beside a model, or null when there is none.</summary>
    /// <exception cref="InvalidDataException">a card that cannot be read.</exception>
    public static ModelCard? ReadFor(string modelPath)
    {
        var path = PathFor(modelPath);
        if (!System.IO.File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<ModelCard>(System.IO.File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} is empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not a model card: {e.Message}", e); }
    }
}

public sealed record ModelCardVerification
{
    /// <summary>How the check ran: e.g. ONNX Runtime version, optimisation levels, threads.</summary>
    [JsonPropertyName("engine")] public required string Engine { get; init; }
    [JsonPropertyName("faces")] public required int Faces { get; init; }
    [JsonPropertyName("runs")] public required int Runs { get; init; }
    [JsonPropertyName("face_source")] public required string FaceSource { get; init; }
    [JsonPropertyName("tolerance")] public required double Tolerance { get; init; }
    [JsonPropertyName("max_abs_diff")] public required double MaxAbsDiff { get; init; }
    [JsonPropertyName("min_cosine")] public required double MinCosine { get; init; }
}

public sealed record ModelCardQuantization
{
    [JsonPropertyName("weights")] public required string Weights { get; init; }
    [JsonPropertyName("activations")] public required string Activations { get; init; }
    [JsonPropertyName("bias")] public required string Bias { get; init; }
    [JsonPropertyName("calibration")] public required string Calibration { get; init; }
    [JsonPropertyName("calibration_set")] public required string CalibrationSet { get; init; }
    [JsonPropertyName("quantized_nodes")] public required int QuantizedNodes { get; init; }
    /// <summary>Nodes kept float by the sensitivity search, most harmful first.</summary>
    [JsonPropertyName("float_nodes")] public required IReadOnlyList<string> FloatNodes { get; init; }
    /// <summary>Each node's own cost: 1 − mean cosine to the original with only that node quantised.</summary>
    [JsonPropertyName("sensitivity")] public required IReadOnlyDictionary<string, double> Sensitivity { get; init; }
    /// <summary>Mean cosine on the calibration faces after each search step (step 0: everything quantised).</summary>
    [JsonPropertyName("search")] public required IReadOnlyList<double> Search { get; init; }
}

public sealed record ModelCardGate
{
    [JsonPropertyName("gate_set")] public required string GateSet { get; init; }
    [JsonPropertyName("pairs")] public required int Pairs { get; init; }
    [JsonPropertyName("images")] public required int Images { get; init; }
    [JsonPropertyName("threshold")] public required double Threshold { get; init; }
    [JsonPropertyName("operating_far")] public required double OperatingFar { get; init; }
    [JsonPropertyName("mean_cosine")] public required double MeanCosine { get; init; }
    [JsonPropertyName("min_cosine")] public required double MinCosine { get; init; }
    [JsonPropertyName("flipped")] public required int Flipped { get; init; }
    [JsonPropertyName("flipped_fraction")] public required double FlippedFraction { get; init; }
    [JsonPropertyName("tar_reference")] public required double TarReference { get; init; }
    [JsonPropertyName("tar_candidate")] public required double TarCandidate { get; init; }
    /// <summary>Templates from the original, probes from this variant: the case of a gallery enrolled before switching.</summary>
    [JsonPropertyName("cross_flipped")] public required int CrossFlipped { get; init; }
    [JsonPropertyName("cross_tar")] public required double CrossTar { get; init; }
    [JsonPropertyName("limits")] public required string Limits { get; init; }
}

public sealed record ModelCardThresholds
{
    [JsonPropertyName("verify")] public required double Verify { get; init; }
    [JsonPropertyName("identify")] public required double Identify { get; init; }
    [JsonPropertyName("identify_margin")] public required double IdentifyMargin { get; init; }
    [JsonPropertyName("p_same_a")] public required double PSameA { get; init; }
    [JsonPropertyName("p_same_b")] public required double PSameB { get; init; }
    [JsonPropertyName("rule")] public required string Rule { get; init; }
}
