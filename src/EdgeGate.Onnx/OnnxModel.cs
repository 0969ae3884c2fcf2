using EdgeGate.Core.Ports;
using EdgeGate.Onnx.Interop;

namespace EdgeGate.Onnx;

/// <summary>How a model is run. Validated when a session is created.</summary>
public sealed record OnnxSessionOptions
{
    /// <summary>Intra-op threads; 0 lets ORT pick (one per core).</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>
    /// Off by default: on a 2-core board that also decodes video, spinning worker threads steal the cores the
    /// camera and the other models need (measured: latency doubled on 2 busy cores).
    /// </summary>
    public bool AllowSpinning { get; init; }

    /// <summary>
    /// Flush-to-zero and denormals-are-zero while the model runs: on ORT's intra-op threads (its
    /// "session.set_denormal_as_zero") and on every thread that calls <see cref="OnnxModel.Run"/> (set once per
    /// thread, see <see cref="Interop.FloatingPointMode"/>). fr_feature's near-dead channels produce subnormal
    /// activations, and x86 multiplies each through a microcode assist: fp32-fast at level 99 took 61.8 ms per run
    /// with them and 4.7 ms without (thread CPU time, this x64 host). Flushed, a subnormal becomes 0, which moves a
    /// sum by under 1e-38 times a weight. The thread keeps the mode for managed code too, where subnormals do not
    /// occur in EdgeGate's arithmetic (pixels, coordinates, scores).
    /// </summary>
    public bool DenormalAsZero { get; init; } = true;

    /// <summary>0 disable, 1 basic, 2 extended, 99 all.</summary>
    public int GraphOptimizationLevel { get; init; } = 99;

    /// <summary>Diagnostics: where ORT saves the optimised graph it runs (to check which fusions and layouts it applied).</summary>
    public string? OptimizedModelPath { get; init; }

    public void Validate()
    {
        if (IntraOpThreads is < 0 or > 64) throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "must be 0..64");
        if (GraphOptimizationLevel is not (0 or 1 or 2 or 99))
            throw new ArgumentOutOfRangeException(nameof(GraphOptimizationLevel), GraphOptimizationLevel, "must be 0, 1, 2 or 99");
    }
}

/// <summary>A float tensor a wrapper expects: its name and its fixed shape.</summary>
public sealed record TensorSpec(string Name, params long[] Shape)
{
    public int ElementCount => checked((int)Shape.Aggregate(1L, (a, b) => a * b));
    public override string ToString() => $"{Name}[{string.Join(',', Shape)}]";
}

/// <summary>
/// One ORT session over a float model with fixed-shape inputs and outputs, bound once to pinned buffers so a run
/// allocates nothing. Ownership: this object owns the session, its options, and the OrtValues; the OrtValues wrap
/// managed arrays on the pinned object heap, owned here and never moved, and are released before the arrays can be
/// collected. <see cref="Run"/> is serialised: share a model across threads only if that is acceptable.
/// </summary>
public sealed unsafe class OnnxModel : IInferenceModel
{
    private const int FloatType = 1;
    private readonly OrtApi _api;
    private readonly OrtSessionOptionsHandle _options;
    private readonly OrtSessionHandle _session;
    private readonly OrtMemoryInfoHandle _memoryInfo;
    private readonly float[][] _inputs;
    private readonly float[][] _outputs;
    private readonly OrtValueHandle[] _inputValues;
    private readonly OrtValueHandle[] _outputValues;
    private readonly byte[][] _names; // NUL-terminated UTF-8, pinned heap
    private readonly Lock _runLock = new();
    private readonly bool _flushDenormals;
    private bool _disposed;

    private OnnxModel(OrtRuntime runtime, string path, OnnxSessionOptions options,
        IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        options.Validate();
        _api = runtime.Api;
        ModelPath = path;
        Inputs = inputs;
        Outputs = outputs;
        _flushDenormals = options.DenormalAsZero;
        _options = new OrtSessionOptionsHandle(_api).Init<OrtSessionOptionsHandle>(_api.CreateSessionOptions());
        _api.SetIntraOpNumThreads(_options, options.IntraOpThreads);
        _api.SetInterOpNumThreads(_options, 1);
        _api.SetGraphOptimizationLevel(_options, options.GraphOptimizationLevel);
        if (options.OptimizedModelPath is { } optimized) _api.SetOptimizedModelFilePath(_options, optimized);
        var spin = options.AllowSpinning ? "1" : "0";
        _api.AddSessionConfigEntry(_options, "session.intra_op.allow_spinning", spin);
        _api.AddSessionConfigEntry(_options, "session.inter_op.allow_spinning", spin);
        if (options.DenormalAsZero) _api.AddSessionConfigEntry(_options, "session.set_denormal_as_zero", "1");
        _session = new OrtSessionHandle(_api).Init<OrtSessionHandle>(_api.CreateSession(runtime.Env, path, _options));

        CheckSignature(inputs, output: false);
        CheckSignature(outputs, output: true);

        _memoryInfo = new OrtMemoryInfoHandle(_api).Init<OrtMemoryInfoHandle>(_api.CreateCpuMemoryInfo());
        _inputs = inputs.Select(s => GC.AllocateArray<float>(s.ElementCount, pinned: true)).ToArray();
        _outputs = outputs.Select(s => GC.AllocateArray<float>(s.ElementCount, pinned: true)).ToArray();
        _inputValues = Bind(inputs, _inputs);
        _outputValues = Bind(outputs, _outputs);
        _names = inputs.Concat(outputs).Select(s => GC.AllocateArray<byte>(System.Text.Encoding.UTF8.GetByteCount(s.Name) + 1, pinned: true)).ToArray();
        var all = inputs.Concat(outputs).ToArray();
        for (var i = 0; i < all.Length; i++) System.Text.Encoding.UTF8.GetBytes(all[i].Name, _names[i]);
    }

    public string ModelPath { get; }
    public IReadOnlyList<TensorSpec> Inputs { get; }
    public IReadOnlyList<TensorSpec> Outputs { get; }

    /// <summary>
    /// Opens <paramref name="path"/> and checks that its inputs and outputs are float tensors with exactly the
    /// expected names and shapes (a symbolic dimension in the model accepts the expected size).
    /// </summary>
    /// <exception cref="FileNotFoundException">no model file.</exception>
    /// <exception cref="InvalidDataException">the model is not the one the wrapper was written for.</exception>
    /// <exception cref="OnnxRuntimeException">ORT refused the model.</exception>
    public static OnnxModel Load(OrtRuntime runtime, string path, OnnxSessionOptions options,
        IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model not found: {path}; run scripts/setup.sh", path);
        return new OnnxModel(runtime, path, options, inputs, outputs);
    }

    /// <summary>The pinned input buffer; fill it, then <see cref="Run"/>.</summary>
    public Span<float> Input(int index = 0) => _inputs[index];

    /// <summary>The pinned output buffer, valid until the next run.</summary>
    public ReadOnlySpan<float> Output(int index = 0) => _outputs[index];

    public void Run()
    {
        lock (_runLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_flushDenormals) FloatingPointMode.FlushDenormalsOnThisThread();
            var nIn = _inputValues.Length;
            var nOut = _outputValues.Length;
            var names = stackalloc byte*[nIn + nOut];
            var ins = stackalloc nint[nIn];
            var outs = stackalloc nint[nOut];
            for (var i = 0; i < _names.Length; i++)
                names[i] = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _names[i][0]);
            for (var i = 0; i < nIn; i++) ins[i] = _inputValues[i].DangerousGetHandle();
            for (var i = 0; i < nOut; i++) outs[i] = _outputValues[i].DangerousGetHandle();
            _api.Run(_session, names, ins, nIn, names + nIn, nOut, outs);
            // ORT writes into the pre-bound outputs; if it ever replaced one, the buffers would be stale.
            for (var i = 0; i < nOut; i++)
                if (outs[i] != _outputValues[i].DangerousGetHandle())
                    throw new InvalidOperationException($"ONNX Runtime replaced the bound output {Outputs[i]}");
        }
    }

    private OrtValueHandle[] Bind(IReadOnlyList<TensorSpec> specs, float[][] buffers)
    {
        var values = new OrtValueHandle[specs.Count];
        for (var i = 0; i < specs.Count; i++)
        {
            fixed (float* p = buffers[i]) // already on the pinned heap; fixed only yields the address
                values[i] = new OrtValueHandle(_api).Init<OrtValueHandle>(
                    _api.CreateTensorWithData(_memoryInfo, p, (nuint)(buffers[i].Length * sizeof(float)), specs[i].Shape, FloatType));
        }
        return values;
    }

    private void CheckSignature(IReadOnlyList<TensorSpec> expected, bool output)
    {
        var kind = output ? "output" : "input";
        var count = _api.SessionGetCount(_session, output);
        var actual = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var (type, shape) = _api.SessionGetTensorInfo(_session, i, output);
            actual.Add($"{_api.SessionGetName(_session, i, output)}[{string.Join(',', shape)}] type {type}");
        }
        var problem = count != expected.Count ? $"expected {expected.Count} {kind}s" : null;
        for (var i = 0; problem is null && i < count; i++)
        {
            var name = _api.SessionGetName(_session, i, output);
            var (type, shape) = _api.SessionGetTensorInfo(_session, i, output);
            var want = expected[i];
            if (name != want.Name || type != FloatType || shape.Length != want.Shape.Length
                || shape.Where((d, k) => d >= 0 && d != want.Shape[k]).Any())
                problem = $"{kind} {i} should be float {want}";
        }
        if (problem is not null)
            throw new InvalidDataException($"{Path.GetFileName(ModelPath)}: {problem}, but the model has {string.Join("; ", actual)}");
    }

    public void Dispose()
    {
        lock (_runLock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var v in _inputValues) v.Dispose();
            foreach (var v in _outputValues) v.Dispose();
            _memoryInfo.Dispose();
            _session.Dispose();
            _options.Dispose();
        }
    }
}
