using System.Security.Cryptography;

namespace EdgeGate.Onnx;

/// <summary>The embedder model variants EdgeGate can run, and how each is found and run.</summary>
public static class EmbedderVariants
{
    /// <summary>fr_feature.onnx as downloaded.</summary>
    public const string Original = "original";

    /// <summary>The name <see cref="Original"/> had before the int8 variant; still accepted in configuration and on the CLI.</summary>
    public const string OriginalAlias = "fp32";

    /// <summary>fr_feature.onnx with every PRelu rewritten exactly (edgegate model prepare); same outputs within 1e-5.</summary>
    public const string Fast = "fp32-fast";

    /// <summary>
    /// fr_feature.onnx quantised to int8 (static QDQ, edgegate model prepare), written only when it passed the
    /// accuracy gate against the original; runs with the thresholds re-derived for it (its model card).
    /// </summary>
    public const string Int8 = "int8";

    /// <summary>The fastest measured variant that is present and verified (embedder-bench.json), else fp32-fast, else the original.</summary>
    public const string Auto = "auto";

    /// <summary>The variants that name a model file (bench and auto choose among these).</summary>
    public static readonly string[] Concrete = [Original, Fast, Int8];

    public static readonly string[] All = [Auto, Original, Fast, Int8];

    /// <summary>Every value configuration and the CLI accept: <see cref="All"/> and the old name of the original.</summary>
    public static readonly string[] Accepted = [.. All, OriginalAlias];

    public const string OriginalFileName = "fr_feature.onnx";
    public const string FastFileName = "fr_feature.fp32-fast.onnx";
    public const string Int8FileName = "fr_feature.int8.onnx";

    /// <summary>What <c>edgegate bench</c> (and <c>model prepare</c>) write into the prepared folder for <see cref="Auto"/>.</summary>
    public const string BenchFileName = "embedder-bench.json";

    /// <summary>
    /// Graph optimisation level each variant runs fastest at, measured on this project's x64 host (ORT 1.30,
    /// AVX-512, 1 thread, thread CPU time per run, flush-to-zero on: see <see cref="OnnxSessionOptions.DenormalAsZero"/>):
    /// original 14.0 / 14.0 / 10.3 ms and fp32-fast 11.6 / 11.6 / 4.6 ms at levels 1 / 2 / 99. At level 99 ORT runs
    /// the whole fast graph in its NCHWc layout (116 NCHWc Conv with Relu and Add fused, one reorder). Earlier
    /// measurements that found level 99 three times slower ran with subnormal activations, which the NCHWc kernels
    /// hit hardest (61.8 ms). The int8 model runs at 99 too: ORT fuses its QDQ pairs into QLinearConv/QLinearAdd
    /// only from level 2 on.
    /// </summary>
    public static int DefaultGraphOptimizationLevel(string variant) => Canonical(variant) switch
    {
        Original => 99,
        Fast => 99,
        Int8 => 99,
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, $"must be one of {string.Join(", ", Concrete)}"),
    };

    public static bool IsValid(string? variant) => variant is not null && Accepted.Contains(variant);

    /// <summary>The variant's current name (<see cref="OriginalAlias"/> becomes <see cref="Original"/>).</summary>
    public static string Canonical(string variant) => variant == OriginalAlias ? Original : variant;

    /// <summary>The file a concrete variant is stored in.</summary>
    public static string FileName(string variant) => Canonical(variant) switch
    {
        Original => OriginalFileName,
        Fast => FastFileName,
        Int8 => Int8FileName,
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, $"must be one of {string.Join(", ", Concrete)}"),
    };

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>
/// The embedder that will run: which variant, which file, at which optimisation level, under which model id, and
/// the operating point re-derived for it (null = the original's, <c>OperatingPoint</c> in the composition root).
/// </summary>
public sealed record EmbedderChoice(string Variant, string ModelPath, int GraphOptimizationLevel, string ModelId, string? Reason,
    ModelCardThresholds? Thresholds = null);
