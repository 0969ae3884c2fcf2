using System.Runtime.InteropServices;

namespace EdgeGate.Onnx.Interop;

// One SafeHandle per owned ORT object, so a leaked or double release cannot happen even on exceptions.
// Each keeps the table it was created from, because release goes through the same function table.

internal abstract class OrtHandle(OrtApi api) : SafeHandle(0, ownsHandle: true)
{
    protected OrtApi Api { get; } = api;
    public override bool IsInvalid => handle == 0;

    public T Init<T>(nint value) where T : OrtHandle
    {
        SetHandle(value);
        return (T)this;
    }
}

internal sealed class OrtEnvHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseEnv(handle); return true; }
}

internal sealed class OrtSessionOptionsHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseSessionOptions(handle); return true; }
}

internal sealed class OrtSessionHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseSession(handle); return true; }
}

internal sealed class OrtMemoryInfoHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseMemoryInfo(handle); return true; }
}

/// <summary>An OrtValue. Releasing it never frees caller-supplied tensor data (that stays with its owner).</summary>
internal sealed class OrtValueHandle(OrtApi api) : OrtHandle(api)
{
    protected override bool ReleaseHandle() { Api.ReleaseValue(handle); return true; }
}
