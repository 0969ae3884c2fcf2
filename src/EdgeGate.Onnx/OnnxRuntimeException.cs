namespace EdgeGate.Onnx;

/// <summary>A failure reported by ONNX Runtime, with its OrtErrorCode (3 = NO_SUCHFILE, 2 = INVALID_ARGUMENT, ...).</summary>
public sealed class OnnxRuntimeException(int code, string message)
    : Exception($"ONNX Runtime error {code}: {message}")
{
    public int Code { get; } = code;
    public string NativeMessage { get; } = message;
}
