using EdgeGate.Camera.Interop;
using EdgeGate.Core.Frames;

namespace EdgeGate.Camera;

/// <summary>Copies GStreamer's packed BGR buffers into pooled <see cref="BgrFrame"/>s.</summary>
internal static class GstVideoFrames
{
    /// <summary>
    /// GStreamer's default layout for packed 24-bit video: rows padded to a multiple of 4 bytes
    /// (641 px → 1924 bytes, not 1923).
    /// </summary>
    public static int DefaultBgrStride(int width) => (width * 3 + 3) & ~3;

    /// <summary>
    /// Maps <paramref name="buffer"/> and copies it once into a pooled frame, stripping row padding. The layout comes
    /// from the buffer's GstVideoMeta when it has one (an element may use its own stride and plane offset), else the default.
    /// </summary>
    public static unsafe BgrFrame CopyBgr(nint buffer, int width, int height)
    {
        if (width <= 0 || height <= 0 || (long)width * height * 3 > Array.MaxLength)
            throw new GstException($"frame size {width}x{height} is not usable");
        if (buffer == 0)
            throw new GstException("sample carries no buffer");
        var (offset, stride) = GStreamer.VideoMetaPlane0(buffer) ?? (0, DefaultBgrStride(width));
        if (stride < width * 3 || offset < 0)
            throw new GstException($"video meta gives stride {stride} and offset {offset} for a {width} px wide BGR frame");

        GStreamer.GstMapInfo map;
        if (!GStreamer.MapRead(buffer, &map))
            throw new GstException("buffer could not be mapped for reading");
        try
        {
            var needed = offset + (long)stride * (height - 1) + width * 3;
            if ((ulong)needed > map.Size)
                throw new GstException($"buffer is {map.Size} bytes, {width}x{height} BGR with stride {stride} and offset {offset} needs {needed}");
            var length = (int)Math.Min((long)map.Size - offset, int.MaxValue);
            return BgrFrame.FromPacked(new ReadOnlySpan<byte>(map.Data + offset, length), width, height, stride);
        }
        finally
        {
            GStreamer.gst_buffer_unmap(buffer, &map);
        }
    }
}
