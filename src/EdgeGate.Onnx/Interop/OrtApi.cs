using System.Runtime.InteropServices;

namespace EdgeGate.Onnx.Interop;

/// <summary>
/// The ONNX Runtime C API function table. Only <c>OrtGetApiBase</c> is imported; everything else is called
/// through the table, whose layout is append-only, so slot numbers (from interop-facts.md, computed with
/// offsetof on the API 29 header) stay valid for every version this build accepts.
/// </summary>
internal sealed unsafe class OrtApi
{
    /// <summary>Slot numbers below exist from this version on; ORT 1.30 accepts 1..30.</summary>
    public const uint ApiVersion = 20;

    private readonly nint* _table;

    private OrtApi(nint* table, string version)
    {
        _table = table;
        Version = version;
    }

    public string Version { get; }

    public static OrtApi Load(nint library)
    {
        var getApiBase = (delegate* unmanaged<nint*>)NativeLibrary.GetExport(library, "OrtGetApiBase");
        var apiBase = getApiBase();
        var getApi = (delegate* unmanaged<uint, nint*>)apiBase[0];
        var getVersion = (delegate* unmanaged<byte*>)apiBase[1];
        var version = Marshal.PtrToStringUTF8((nint)getVersion()) ?? "?";
        var table = getApi(ApiVersion);
        if (table is null)
            throw new OnnxRuntimeException(-1, $"ONNX Runtime {version} does not offer C API version {ApiVersion}");
        return new OrtApi(table, version);
    }

    private nint this[int slot] => _table[slot];

    // Status handling: the one place where a native failure becomes an exception.
    public void Check(nint status)
    {
        if (status == 0) return;
        try
        {
            var code = ((delegate* unmanaged<nint, int>)this[1])(status);
            var message = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)this[2])(status)) ?? "(no message)";
            throw new OnnxRuntimeException(code, message);
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)this[93])(status);
        }
    }

    public nint CreateEnv(int logLevel, string logId)
    {
        nint env;
        var id = Utf8(logId);
        fixed (byte* p = id) Check(((delegate* unmanaged<int, byte*, nint*, nint>)this[3])(logLevel, p, &env));
        return env;
    }

    public nint CreateSessionOptions()
    {
        nint options;
        Check(((delegate* unmanaged<nint*, nint>)this[10])(&options));
        return options;
    }

    public void SetGraphOptimizationLevel(OrtSessionOptionsHandle options, int level) =>
        Check(((delegate* unmanaged<nint, int, nint>)this[23])(options.DangerousGetHandle(), level));

    /// <summary>Slot 11: ORT writes the graph it will run (after optimisation) to this file when a session is created.</summary>
    public void SetOptimizedModelFilePath(OrtSessionOptionsHandle options, string path)
    {
        var utf8 = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = utf8) Check(((delegate* unmanaged<nint, byte*, nint>)this[11])(options.DangerousGetHandle(), p));
    }

    public void SetIntraOpNumThreads(OrtSessionOptionsHandle options, int n) =>
        Check(((delegate* unmanaged<nint, int, nint>)this[24])(options.DangerousGetHandle(), n));

    public void SetInterOpNumThreads(OrtSessionOptionsHandle options, int n) =>
        Check(((delegate* unmanaged<nint, int, nint>)this[25])(options.DangerousGetHandle(), n));

    public void AddSessionConfigEntry(OrtSessionOptionsHandle options, string key, string value)
    {
        var k = Utf8(key);
        var v = Utf8(value);
        fixed (byte* pk = k, pv = v)
            Check(((delegate* unmanaged<nint, byte*, byte*, nint>)this[130])(options.DangerousGetHandle(), pk, pv));
    }

    public nint CreateSession(OrtEnvHandle env, string modelPath, OrtSessionOptionsHandle options)
    {
        nint session;
        var path = Utf8(modelPath);
        fixed (byte* p = path)
            Check(((delegate* unmanaged<nint, byte*, nint, nint*, nint>)this[7])(
                env.DangerousGetHandle(), p, options.DangerousGetHandle(), &session));
        return session;
    }

    public nint CreateSessionFromArray(OrtEnvHandle env, ReadOnlySpan<byte> model, OrtSessionOptionsHandle options)
    {
        nint session;
        fixed (byte* p = model)
            Check(((delegate* unmanaged<nint, byte*, nuint, nint, nint*, nint>)this[8])(
                env.DangerousGetHandle(), p, (nuint)model.Length, options.DangerousGetHandle(), &session));
        return session;
    }

    public int SessionGetCount(OrtSessionHandle session, bool outputs)
    {
        nuint n;
        Check(((delegate* unmanaged<nint, nuint*, nint>)this[outputs ? 31 : 30])(session.DangerousGetHandle(), &n));
        return checked((int)n);
    }

    public string SessionGetName(OrtSessionHandle session, int index, bool output)
    {
        nint allocator = GetDefaultAllocator();
        byte* name;
        Check(((delegate* unmanaged<nint, nuint, nint, byte**, nint>)this[output ? 37 : 36])(
            session.DangerousGetHandle(), (nuint)index, allocator, &name));
        try
        {
            return Marshal.PtrToStringUTF8((nint)name) ?? "";
        }
        finally
        {
            Check(((delegate* unmanaged<nint, void*, nint>)this[76])(allocator, name));
        }
    }

    /// <summary>Element type and dimensions (-1 for symbolic) of a session input or output.</summary>
    public (int ElementType, long[] Shape) SessionGetTensorInfo(OrtSessionHandle session, int index, bool output)
    {
        nint typeInfo;
        Check(((delegate* unmanaged<nint, nuint, nint*, nint>)this[output ? 34 : 33])(
            session.DangerousGetHandle(), (nuint)index, &typeInfo));
        try
        {
            nint tensorInfo; // borrowed from typeInfo
            Check(((delegate* unmanaged<nint, nint*, nint>)this[55])(typeInfo, &tensorInfo));
            if (tensorInfo == 0) throw new OnnxRuntimeException(-1, $"{(output ? "output" : "input")} {index} is not a tensor");
            return ReadTensorInfo(tensorInfo);
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)this[98])(typeInfo);
        }
    }

    private (int ElementType, long[] Shape) ReadTensorInfo(nint tensorInfo)
    {
        int type;
        Check(((delegate* unmanaged<nint, int*, nint>)this[60])(tensorInfo, &type));
        nuint rank;
        Check(((delegate* unmanaged<nint, nuint*, nint>)this[61])(tensorInfo, &rank));
        var dims = new long[(int)rank];
        fixed (long* d = dims) Check(((delegate* unmanaged<nint, long*, nuint, nint>)this[62])(tensorInfo, d, rank));
        return (type, dims);
    }

    public (int ElementType, long[] Shape) GetValueTensorInfo(nint value)
    {
        nint info;
        Check(((delegate* unmanaged<nint, nint*, nint>)this[65])(value, &info));
        try
        {
            return ReadTensorInfo(info);
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)this[99])(info);
        }
    }

    public nint CreateCpuMemoryInfo()
    {
        nint info;
        // allocator type 0 = device (plain), memory type 0 = default CPU memory.
        Check(((delegate* unmanaged<int, int, nint*, nint>)this[69])(0, 0, &info));
        return info;
    }

    /// <summary>Wraps caller-owned memory without copying; the memory must stay pinned until the value is released.</summary>
    public nint CreateTensorWithData(OrtMemoryInfoHandle memoryInfo, void* data, nuint byteLength, ReadOnlySpan<long> shape, int elementType)
    {
        nint value;
        fixed (long* s = shape)
            Check(((delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint>)this[49])(
                memoryInfo.DangerousGetHandle(), data, byteLength, s, (nuint)shape.Length, elementType, &value));
        return value;
    }

    public void Run(OrtSessionHandle session, byte** inputNames, nint* inputs, int inputCount,
        byte** outputNames, int outputCount, nint* outputs) =>
        Check(((delegate* unmanaged<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint>)this[9])(
            session.DangerousGetHandle(), 0, inputNames, inputs, (nuint)inputCount, outputNames, (nuint)outputCount, outputs));

    private nint GetDefaultAllocator()
    {
        nint allocator; // owned by ORT: never released
        Check(((delegate* unmanaged<nint*, nint>)this[78])(&allocator));
        return allocator;
    }

    public void ReleaseEnv(nint p) => ((delegate* unmanaged<nint, void>)this[92])(p);
    public void ReleaseMemoryInfo(nint p) => ((delegate* unmanaged<nint, void>)this[94])(p);
    public void ReleaseSession(nint p) => ((delegate* unmanaged<nint, void>)this[95])(p);
    public void ReleaseValue(nint p) => ((delegate* unmanaged<nint, void>)this[96])(p);
    public void ReleaseSessionOptions(nint p) => ((delegate* unmanaged<nint, void>)this[100])(p);

    private static byte[] Utf8(string s)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
