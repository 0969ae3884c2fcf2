using System.Security.Cryptography;

namespace EdgeGate.Onnx;

/// <summary>The embedder model variants EdgeGate can run, and how each is found and run.</summary>
public static class EmbedderVariants
{
    /// <summary>fr_feature.onnx as downloaded.</summary>
    public const string Original = "fp32";

    /// <summary>fr_feature.onnx with every PRelu rewritten exactly (edgegate model prepare); same outputs within 1e-5.</summary>
    public const string Fast = "fp32-fast";

    /// <summary>The fastest variant that is present and verified against the installed original, else the original.</summary>
    public const string Auto = "auto";

    public static readonly string[] All = [Auto, Original, Fast];

    public const string OriginalFileName = "fr_feature.onnx";
    public const string FastFileName = "fr_feature.fp32-fast.onnx";

    /// <summary>
    /// Graph optimisation level each variant runs fastest at (ORT 1.30, x64, bench/EdgeGate.Bench
    /// EmbedderVariantBenchmarks). The original's 33 PRelu make level 99's NCHWc layout pass wrap each one in
    /// reorders (3× slower than level 1); the rewritten graph has no PRelu and gains from level 99.
    /// </summary>
    public static int DefaultGraphOptimizationLevel(string variant) => variant switch
    {
        Original => 1,
        Fast => 99,
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, $"must be {Original} or {Fast}"),
    };

    public static bool IsValid(string? variant) => variant is not null && All.Contains(variant);

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>The embedder that will run: which variant, which file, at which optimisation level, under which model id.</summary>
public sealed record EmbedderChoice(string Variant, string ModelPath, int GraphOptimizationLevel, string ModelId, string? Reason);
