using System.Runtime.InteropServices;

namespace EdgeGate.Onnx.Interop;

/// <summary>
/// Flush-to-zero and denormals-are-zero on the calling thread, through glibc's fegetenv/fesetenv (libm.so.6).
/// ORT's own "session.set_denormal_as_zero" reaches only its pool threads and, once per process, the thread that
/// creates the first session; with one intra-op thread the model runs on the caller's thread, which is usually
/// neither (the daemon loads its models before starting the recognition thread). Measured on this project's x64
/// host (ORT 1.30, 1 thread, thread CPU time per run): fp32-fast at level 99 takes 61.8 ms with subnormal
/// activations and 4.7 ms without them; at level 1, 17.2 against 11.8 ms.
/// </summary>
internal static unsafe partial class FloatingPointMode
{
    // glibc x86_64 fenv_t: 32 bytes, the SSE control/status register (MXCSR) at offset 28 (offsetof, gcc on
    // Debian 12). MXCSR bit 15 is flush-to-zero, bit 6 denormals-are-zero.
    private const int X64EnvSize = 32, X64MxcsrOffset = 28;
    private const uint MxcsrFlushToZero = 1u << 15, MxcsrDenormalsAreZero = 1u << 6;

    [ThreadStatic] private static bool t_set;

    /// <summary>
    /// Sets FTZ and DAZ on this thread once; false where nothing was done. Only x64: ARM64 cores do subnormal
    /// arithmetic in hardware at full speed, and ORT does not change their mode either.
    /// </summary>
    public static bool FlushDenormalsOnThisThread()
    {
        if (t_set) return true;
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64 || !OperatingSystem.IsLinux()) return false;
        var env = stackalloc byte[X64EnvSize];
        if (fegetenv(env) != 0) return false;
        *(uint*)(env + X64MxcsrOffset) |= MxcsrFlushToZero | MxcsrDenormalsAreZero;
        if (fesetenv(env) != 0) return false;
        t_set = true;
        return true;
    }

    /// <summary>Whether FTZ and DAZ are both set on this thread (x64 only).</summary>
    public static bool IsFlushingDenormals()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64 || !OperatingSystem.IsLinux()) return false;
        var env = stackalloc byte[X64EnvSize];
        if (fegetenv(env) != 0) return false;
        var mxcsr = *(uint*)(env + X64MxcsrOffset);
        return (mxcsr & (MxcsrFlushToZero | MxcsrDenormalsAreZero)) == (MxcsrFlushToZero | MxcsrDenormalsAreZero);
    }

    [LibraryImport("libm.so.6")]
    private static partial int fegetenv(byte* env);

    [LibraryImport("libm.so.6")]
    private static partial int fesetenv(byte* env);
}
