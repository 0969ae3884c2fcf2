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

    /// <summary>Every variant that names one model file (not <see cref="Auto"/>): what <c>edgegate bench</c> times.</summary>
    public static readonly string[] Concrete = [Original, Fast];

    public const string OriginalFileName = "fr_feature.onnx";
    public const string FastFileName = "fr_feature.fp32-fast.onnx";

    /// <summary>
    /// Graph optimisation level each variant runs fastest at, measured on this project's x64 host (ORT 1.30,
    /// AVX-512, 1 thread, interleaved runs; bench/EdgeGate.Bench EmbedderVariantBenchmarks): original 34.8 / 33.7 /
    /// 92 ms and fp32-fast 22.9 / 22.4 / 77 ms at levels 1 / 2 / 99. At level 99 ORT does put the whole fast graph in
    /// its NCHWc layout (its saved optimised graph: 116 NCHWc Conv with Relu and Add fused, one reorder; the
    /// original keeps 33 PRelu between 33 reorder pairs), but its NCHWc kernels are the slow path for this model
    /// on this CPU. Other CPUs differ (an AVX2 host was reported faster at 99), so the level can be configured.
    /// </summary>
    public static int DefaultGraphOptimizationLevel(string variant) => variant switch
    {
        Original => 1,
        Fast => 1,
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
