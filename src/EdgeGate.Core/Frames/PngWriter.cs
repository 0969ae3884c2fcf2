using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace EdgeGate.Core.Frames;

/// <summary>
/// Writes a <see cref="BgrFrame"/> as an 8-bit RGB PNG (colour type 2, no interlace, filter "none" on every row),
/// compressed with the runtime's zlib. Enough for diagnostics snapshots, with no native encoder and no package.
/// </summary>
public static class PngWriter
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly uint[] CrcTable = BuildCrcTable();

    public static byte[] Encode(BgrFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        using var png = new MemoryStream();
        png.Write(Signature);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, frame.Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), frame.Height);
        header[8] = 8; // bits per sample
        header[9] = 2; // colour type: RGB
        // compression 0 (deflate), filter method 0, interlace 0: already zero
        WriteChunk(png, "IHDR", header);

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + frame.Width * 3]; // leading 0 = filter type "none"
            for (var y = 0; y < frame.Height; y++)
            {
                var source = frame.Row(y);
                for (int x = 0, i = 1; x < source.Length; x += 3, i += 3)
                {
                    row[i] = source[x + 2];
                    row[i + 1] = source[x + 1];
                    row[i + 2] = source[x];
                }
                zlib.Write(row);
            }
        }
        WriteChunk(png, "IDAT", compressed.ToArray());
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>Encodes and writes atomically (temporary file, then rename), creating the directory.</summary>
    public static void Save(BgrFrame frame, string path)
    {
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        var temporary = $"{full}.{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temporary, Encode(frame));
        File.Move(temporary, full, overwrite: true);
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        png.Write(typeBytes);
        png.Write(data);
        var crc = Crc32(Crc32(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        png.Write(word);
    }

    /// <summary>CRC-32 (ISO-HDLC, the one PNG uses) continued from <paramref name="crc"/>, without the final inversion.</summary>
    internal static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}

/// <summary>Draws diagnostics overlays (face boxes, landmarks) straight into a <see cref="BgrFrame"/>; clipped to the frame.</summary>
public static class FrameOverlay
{
    public readonly record struct Bgr(byte B, byte G, byte R);

    /// <summary>Pure green: easy to find in a snapshot, by eye and by a test.</summary>
    public static readonly Bgr BoxColour = new(0, 255, 0);

    /// <summary>Pure red for the 68 landmarks.</summary>
    public static readonly Bgr LandmarkColour = new(0, 0, 255);

    public static void Rectangle(BgrFrame frame, float x1, float y1, float x2, float y2, Bgr colour, int thickness = 2)
    {
        var left = (int)MathF.Round(MathF.Min(x1, x2));
        var right = (int)MathF.Round(MathF.Max(x1, x2));
        var top = (int)MathF.Round(MathF.Min(y1, y2));
        var bottom = (int)MathF.Round(MathF.Max(y1, y2));
        for (var t = 0; t < thickness; t++)
        {
            HorizontalLine(frame, left, right, top + t, colour);
            HorizontalLine(frame, left, right, bottom - t, colour);
            VerticalLine(frame, left + t, top, bottom, colour);
            VerticalLine(frame, right - t, top, bottom, colour);
        }
    }

    /// <summary>A filled square of side 2·<paramref name="radius"/>+1 centred on the point.</summary>
    public static void Dot(BgrFrame frame, float x, float y, Bgr colour, int radius = 1)
    {
        var cx = (int)MathF.Round(x);
        var cy = (int)MathF.Round(y);
        for (var dy = -radius; dy <= radius; dy++)
            HorizontalLine(frame, cx - radius, cx + radius, cy + dy, colour);
    }

    private static void HorizontalLine(BgrFrame frame, int x1, int x2, int y, Bgr colour)
    {
        if ((uint)y >= (uint)frame.Height) return;
        var row = frame.Row(y);
        for (var x = Math.Max(0, x1); x <= Math.Min(frame.Width - 1, x2); x++) Set(row, x, colour);
    }

    private static void VerticalLine(BgrFrame frame, int x, int y1, int y2, Bgr colour)
    {
        if ((uint)x >= (uint)frame.Width) return;
        for (var y = Math.Max(0, y1); y <= Math.Min(frame.Height - 1, y2); y++) Set(frame.Row(y), x, colour);
    }

    private static void Set(Span<byte> row, int x, Bgr colour)
    {
        row[x * 3] = colour.B;
        row[x * 3 + 1] = colour.G;
        row[x * 3 + 2] = colour.R;
    }
}
