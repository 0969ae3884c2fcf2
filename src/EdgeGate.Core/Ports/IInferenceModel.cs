namespace EdgeGate.Core.Ports;

/// <summary>
/// A loaded neural network with fixed-shape float inputs and outputs bound to reusable buffers. The face
/// pipeline's pre- and post-processing lives in Core against this port; adapters (ONNX Runtime) implement it.
/// </summary>
public interface IInferenceModel : IDisposable
{
    /// <summary>The buffer for input <paramref name="index"/>; fill it before <see cref="Run"/>.</summary>
    Span<float> Input(int index = 0);

    /// <summary>The result of the last <see cref="Run"/>; valid until the next one.</summary>
    ReadOnlySpan<float> Output(int index = 0);

    void Run();
}
