namespace EdgeGate.Camera;

/// <summary>A failure reported by GStreamer (a GError or a bus ERROR/WARNING message), with GStreamer's own text.</summary>
public sealed class GstException(string message, string? debugInfo = null) : Exception(message)
{
    /// <summary>GStreamer's debug detail (source file, function, element path), when it gave one.</summary>
    public string? DebugInfo { get; } = debugInfo;
}
