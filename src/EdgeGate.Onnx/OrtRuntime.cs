using System.Runtime.InteropServices;
using EdgeGate.Onnx.Interop;

namespace EdgeGate.Onnx;

/// <summary>
/// The process-wide ONNX Runtime: the native library for this CPU architecture and its single OrtEnv
/// (ORT allows one env per process). Lives until process exit; sessions borrow it.
/// </summary>
public sealed class OrtRuntime
{
    private static readonly Lock Gate = new();
    private static OrtRuntime? _shared;

    private OrtRuntime(string libraryPath, OrtApi api, OrtEnvHandle env)
    {
        LibraryPath = libraryPath;
        Api = api;
        Env = env;
    }

    public string LibraryPath { get; }
    public string Version => Api.Version;
    internal OrtApi Api { get; }
    internal OrtEnvHandle Env { get; }

    /// <summary>Loads the library once; later calls return the same runtime (and ignore a different path).</summary>
    /// <exception cref="FileNotFoundException">the library is not where set-up puts it.</exception>
    public static OrtRuntime Load(string libraryPath)
    {
        lock (Gate)
        {
            if (_shared is not null) return _shared;
            if (!File.Exists(libraryPath))
                throw new FileNotFoundException($"ONNX Runtime library not found at {libraryPath}; run scripts/setup.sh", libraryPath);
            var library = NativeLibrary.Load(libraryPath);
            var api = OrtApi.Load(library);
            // Log level 3 = error: warnings about unused initialisers would otherwise flood the daemon's stderr.
            var env = new OrtEnvHandle(api).Init<OrtEnvHandle>(api.CreateEnv(3, "edgegate"));
            return _shared = new OrtRuntime(libraryPath, api, env);
        }
    }

    /// <summary>The folder name set-up uses for this process's architecture.</summary>
    public static string RuntimeIdentifier => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => "linux-x64",
        Architecture.Arm64 => "linux-arm64",
        var other => throw new PlatformNotSupportedException($"no ONNX Runtime build for {other}"),
    };
}
