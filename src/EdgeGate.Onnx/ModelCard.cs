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
