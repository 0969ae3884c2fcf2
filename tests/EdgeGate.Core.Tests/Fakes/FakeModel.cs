using EdgeGate.Core.Ports;

namespace EdgeGate.Core.Tests.Fakes;

/// <summary>
/// A scripted <see cref="IInferenceModel"/>: fixed-size input buffers, outputs the test sets, and a copy of every
/// input taken at each <see cref="Run"/> so the pre-processing can be checked.
/// </summary>
public sealed class FakeModel : IInferenceModel
{
    private readonly float[][] _inputs;
    private readonly float[][] _outputs;

    public FakeModel(int[] inputSizes, int[] outputSizes)
    {
        _inputs = inputSizes.Select(n => new float[n]).ToArray();
        _outputs = outputSizes.Select(n => new float[n]).ToArray();
    }

    /// <summary>One input of <paramref name="inputSize"/> floats and one output per entry of <paramref name="outputSizes"/>.</summary>
    public FakeModel(int inputSize, params int[] outputSizes) : this([inputSize], outputSizes) { }

    /// <summary>Copies of all inputs as they were at each Run, in order.</summary>
    public List<float[][]> Recorded { get; } = [];

    public int Runs => Recorded.Count;

    public bool Disposed { get; private set; }

    /// <summary>Called after each Run is recorded with the 0-based run number and the output buffers, to script outputs per run.</summary>
    public Action<int, float[][]>? OnRun { get; set; }

    /// <summary>The writable buffer behind <see cref="Output"/>.</summary>
    public float[] OutputBuffer(int index = 0) => _outputs[index];

    public float[] RecordedInput(int run, int index = 0) => Recorded[run][index];

    public Span<float> Input(int index = 0) => _inputs[index];

    public ReadOnlySpan<float> Output(int index = 0) => _outputs[index];

    public void Run()
    {
        Recorded.Add(_inputs.Select(a => (float[])a.Clone()).ToArray());
        OnRun?.Invoke(Recorded.Count - 1, _outputs);
    }

    public void Dispose() => Disposed = true;
}
