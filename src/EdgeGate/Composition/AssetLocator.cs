using EdgeGate.Onnx;

namespace EdgeGate.Composition;

/// <summary>
/// Finds what set-up installed: the ONNX Runtime library for this architecture and the models. Looked for in
/// EDGEGATE_ASSETS, then next to the program (a packaged install), then /usr/lib/edgegate, then the nearest
/// <c>.cache/edgegate</c> above the program (a source checkout after scripts/setup.sh).
/// </summary>
public static class AssetLocator
{
    public static string Root()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("EDGEGATE_ASSETS") is { Length: > 0 } env) candidates.Add(env);
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "assets"));
        candidates.Add("/usr/lib/edgegate");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            candidates.Add(Path.Combine(dir.FullName, ".cache", "edgegate"));
        foreach (var c in candidates)
            if (Directory.Exists(Path.Combine(c, "models")))
                return c;
        throw new DirectoryNotFoundException(
            "EdgeGate's models and ONNX Runtime were not found (looked in EDGEGATE_ASSETS, ./assets, /usr/lib/edgegate and .cache/edgegate). Run scripts/setup.sh.");
    }

    public static string ModelsDirectory(string root) => Path.Combine(root, "models");

    /// <summary>Prepared models (edgegate model prepare): EDGEGATE_PREPARED, else &lt;root&gt;/prepared.</summary>
    public static string PreparedDirectory(string root) =>
        Environment.GetEnvironmentVariable("EDGEGATE_PREPARED") is { Length: > 0 } env ? env : Path.Combine(root, "prepared");

    public static string OnnxRuntimeLibrary(string root) =>
        Path.Combine(root, "runtimes", OrtRuntime.RuntimeIdentifier, "libonnxruntime.so.1");
}
