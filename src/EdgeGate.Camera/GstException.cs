using EdgeGate.Core.Ports;

namespace EdgeGate.Camera;

/// <summary>
/// A failure reported by GStreamer (a GError or a bus ERROR/WARNING message), with GStreamer's own text.
/// It is a <see cref="CameraException"/> so the capture supervisor and the daemon catch one type for every camera fault.
/// </summary>
public sealed class GstException(string message, string? debugInfo = null, Exception? inner = null) : CameraException(message, inner)
{
    /// <summary>GStreamer's debug detail (source file, function, element path), when it gave one.</summary>
    public string? DebugInfo { get; } = debugInfo;
}
