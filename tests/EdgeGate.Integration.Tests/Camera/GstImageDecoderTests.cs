using System.Buffers.Binary;
using System.Diagnostics;
using EdgeGate.Camera;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Camera;

public sealed class GstImageDecoderTests(ITestOutputHelper output)
{
    private const string LfwJpeg = "people/Angelina_Jolie/9.jpg"; // 250x250: rows of 750 bytes, padded to 752
    private const string LargeJpeg = "people/Angelina_Jolie/3.jpg"; // 2500x1728 progressive
    private const string GreyPng = "people/Jim_Parsons/1.png"; // 150x150 8-bit grey
    private const string ExifRotatedJpeg = "spoof/silentface_print_1.jpg"; // stored 640x480, EXIF orientation 6

    private readonly GstImageDecoder _decoder = new();

    [Theory]
    [InlineData(LfwJpeg, 250, 250)]
    [InlineData("people/Barack_Obama/5.jpg", 320, 240)]
    [InlineData("people/Barack_Obama/1.jpg", 910, 1137)] // EXIF orientation 1: stays as stored
    [InlineData(LargeJpeg, 2500, 1728)]
    public void Jpeg_DecodesToItsSize(string file, int width, int height)
    {
        if (Faces() is not { } faces) return;

        using var frame = _decoder.DecodeFile(Path.Combine(faces, file));

        Assert.Equal((width, height), (frame.Width, frame.Height));
        Assert.True(Spread(frame.Pixels) > 50, "a photo should not decode to a flat image");
    }

    [Fact]
    public void GreyPng_DecodesToGreyBgr_WithRowPaddingStripped()
    {
        if (Faces() is not { } faces) return;

        using var frame = _decoder.DecodeFile(Path.Combine(faces, GreyPng));

        Assert.Equal((150, 150), (frame.Width, frame.Height));
        // 150*3 = 450 is padded to 452 in GStreamer's buffer; a wrong stride would shift each row by 2 bytes
        // more than the last, putting B, G and R of different pixels together and breaking B == G == R.
        for (var y = 0; y < frame.Height; y++)
        {
            var row = frame.Row(y);
            for (var x = 0; x < row.Length; x += 3)
                Assert.True(row[x] == row[x + 1] && row[x + 1] == row[x + 2], $"pixel ({x / 3},{y}) is not grey");
        }
        Assert.True(Spread(frame.Pixels) > 50);
    }

    [Fact]
    public void ExifOrientation6_IsRotatedClockwiseToPortrait()
    {
        if (Faces() is not { } faces) return;
        var bytes = File.ReadAllBytes(Path.Combine(faces, ExifRotatedJpeg));

        using var upright = _decoder.Decode(bytes);
        using var stored = _decoder.Decode(WithOrientation(bytes, 1));

        Assert.Equal((640, 480), (stored.Width, stored.Height));
        Assert.Equal((480, 640), (upright.Width, upright.Height));
        // Orientation 6 means "rotate 90° clockwise to view": output (x, y) comes from stored (y, H-1-x).
        var clockwise = MeanAbsDiff(upright, stored, (x, y) => (y, stored.Height - 1 - x));
        var counterClockwise = MeanAbsDiff(upright, stored, (x, y) => (stored.Width - 1 - y, x));
        output.WriteLine($"mean |diff| clockwise {clockwise:0.00}, counter-clockwise {counterClockwise:0.00}");
        Assert.True(clockwise < 2, $"clockwise mapping differs by {clockwise:0.00} on average");
        Assert.True(counterClockwise > 10 * clockwise + 5);
    }

    [Fact]
    public void WidthNotMultipleOf4_MemoryAndFileDecodesAgree_AndRowsLineUp()
    {
        if (Faces() is not { } faces) return;
        var path = Directory.EnumerateFiles(Path.Combine(faces, "people"), "*.jpg", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .First(p => { using var f = _decoder.DecodeFile(p); return f.Width * 3 % 4 != 0; });
        output.WriteLine(path);

        using var fromFile = _decoder.DecodeFile(path);
        using var fromMemory = _decoder.Decode(File.ReadAllBytes(path));

        Assert.True(fromFile.Pixels.SequenceEqual(fromMemory.Pixels));
        // Neighbouring rows of a photo match best when aligned; a stride error would make them match best
        // when shifted by the padding (2 bytes per row here).
        Assert.True(RowDiff(fromFile, 0) < RowDiff(fromFile, 2) && RowDiff(fromFile, 0) < RowDiff(fromFile, -2),
            $"aligned {RowDiff(fromFile, 0):0.0}, +2 {RowDiff(fromFile, 2):0.0}, -2 {RowDiff(fromFile, -2):0.0}");
    }

    [Fact]
    public void FromPacked_DropsRowPadding()
    {
        const int width = 5, height = 3, stride = 16; // 15 bytes of pixels + 1 padding byte per row
        var source = new byte[stride * height];
        Array.Fill(source, (byte)0xEE);
        for (var y = 0; y < height; y++)
            for (var i = 0; i < width * 3; i++)
                source[y * stride + i] = (byte)(y * 50 + i);

        using var frame = BgrFrame.FromPacked(source, width, height, stride);

        for (var y = 0; y < height; y++)
            Assert.Equal(source.AsSpan(y * stride, width * 3).ToArray(), frame.Row(y).ToArray());
        Assert.DoesNotContain((byte)0xEE, frame.Pixels.ToArray());
    }

    [Fact]
    public void TruncatedJpeg_IsCorrupt_WithGStreamersMessage()
    {
        if (Faces() is not { } faces) return;
        var bytes = File.ReadAllBytes(Path.Combine(faces, LfwJpeg));

        var e = Assert.Throws<ImageDecodeException>(() => _decoder.Decode(bytes.AsSpan(0, bytes.Length / 2)));

        output.WriteLine(e.Message);
        Assert.Equal(ImageDecodeError.Corrupt, e.Error);
        Assert.IsType<GstException>(e.InnerException);
    }

    [Fact]
    public void TruncatedPng_IsCorrupt()
    {
        if (Faces() is not { } faces) return;
        var bytes = File.ReadAllBytes(Path.Combine(faces, GreyPng));

        var e = Assert.Throws<ImageDecodeException>(() => _decoder.Decode(bytes.AsSpan(0, bytes.Length / 2)));

        output.WriteLine(e.Message);
        Assert.Equal(ImageDecodeError.Corrupt, e.Error);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void JpegWithItsMiddleOverwritten_IsCorrupt(int seed)
    {
        if (Faces() is not { } faces) return;
        var bytes = File.ReadAllBytes(Path.Combine(faces, LfwJpeg));
        new Random(seed).NextBytes(bytes.AsSpan(bytes.Length / 3, bytes.Length / 3));

        var e = Assert.Throws<ImageDecodeException>(() => _decoder.Decode(bytes));

        output.WriteLine(e.Message);
        Assert.Equal(ImageDecodeError.Corrupt, e.Error);
    }

    [Fact]
    public void RandomBytesAfterJpegSignature_AreCorrupt()
    {
        var bytes = new byte[5000];
        new Random(7).NextBytes(bytes);
        bytes[0] = 0xFF; bytes[1] = 0xD8; bytes[2] = 0xFF;

        var e = Assert.Throws<ImageDecodeException>(() => _decoder.Decode(bytes));

        Assert.Equal(ImageDecodeError.Corrupt, e.Error);
    }

    [Fact]
    public void RandomBytes_AreUnsupported()
    {
        var bytes = new byte[5000];
        new Random(7).NextBytes(bytes);
        bytes[0] = 0x00;

        Assert.Equal(ImageDecodeError.Unsupported, Error(() => _decoder.Decode(bytes)));
        Assert.Equal(ImageDecodeError.Unsupported, Error(() => _decoder.Decode("GIF89a\x01\0\x01\0"u8)));
    }

    [Fact]
    public void Empty_IsEmpty()
    {
        var path = Path.GetTempFileName();
        try
        {
            Assert.Equal(ImageDecodeError.Empty, Error(() => _decoder.Decode([])));
            Assert.Equal(ImageDecodeError.Empty, Error(() => _decoder.DecodeFile(path)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void OverByteLimit_IsTooLarge_BeforeDecoding()
    {
        if (Faces() is not { } faces) return;
        var path = Path.Combine(faces, LfwJpeg);
        var decoder = new GstImageDecoder(new ImageDecoderOptions { MaxBytes = new FileInfo(path).Length - 1 });

        Assert.Equal(ImageDecodeError.TooLarge, Error(() => decoder.DecodeFile(path)));
        Assert.Equal(ImageDecodeError.TooLarge, Error(() => decoder.Decode(File.ReadAllBytes(path))));
    }

    [Theory]
    [InlineData(LfwJpeg)]
    [InlineData(GreyPng)]
    [InlineData(LargeJpeg)]
    public void OverPixelLimit_IsTooLarge_FromTheHeader(string file)
    {
        if (Faces() is not { } faces) return;
        var decoder = new GstImageDecoder(new ImageDecoderOptions { MaxPixels = 1000 });

        var e = Assert.Throws<ImageDecodeException>(() => decoder.DecodeFile(Path.Combine(faces, file)));

        output.WriteLine(e.Message);
        Assert.Equal(ImageDecodeError.TooLarge, e.Error);
        Assert.Null(e.InnerException); // refused from the header, GStreamer never ran
    }

    [Fact]
    public void MissingFile_IsNotFound()
    {
        var missing = Path.Combine(Path.GetTempPath(), "edgegate-" + Guid.NewGuid().ToString("N") + ".jpg");

        Assert.Equal(ImageDecodeError.NotFound, Error(() => _decoder.DecodeFile(missing)));
        Assert.Equal(ImageDecodeError.NotFound, Error(() => _decoder.DecodeFile(Path.GetTempPath())));
    }

    [Fact]
    public void SlowDecode_TimesOut_AndLeavesDecodingUsable()
    {
        if (Faces() is not { } faces) return;
        var decoder = new GstImageDecoder(new ImageDecoderOptions { Timeout = TimeSpan.FromMilliseconds(1) });
        var path = Path.Combine(faces, LargeJpeg);
        using var before = _decoder.DecodeFile(path);

        var error = Error(() => decoder.DecodeFile(path));

        // The timed-out pipeline was torn down: a normal decode afterwards still gives the same image.
        Assert.Equal(ImageDecodeError.Timeout, error);
        using var after = _decoder.DecodeFile(path);
        Assert.True(before.Pixels.SequenceEqual(after.Pixels));
    }

    [Fact]
    public void RepeatedDecodes_AreDeterministic_AndDoNotLeakDescriptors()
    {
        if (Faces() is not { } faces) return;
        var bytes = File.ReadAllBytes(Path.Combine(faces, LfwJpeg));
        using var first = _decoder.Decode(bytes);
        var before = OpenDescriptors();

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 50; i++)
        {
            using var again = _decoder.Decode(bytes);
            Assert.True(first.Pixels.SequenceEqual(again.Pixels), $"decode {i} differs");
        }

        var after = OpenDescriptors();
        output.WriteLine($"{clock.Elapsed.TotalMilliseconds / 50:0.00} ms per 250x250 JPEG; fds {before} -> {after}");
        // Every leaked pipeline would keep its bus's wake-up descriptors open; other tests open files meanwhile.
        Assert.InRange(after, 0, before + 10);
    }

    [Fact]
    public void ConcurrentDecodes_MatchSequentialOnes()
    {
        if (Faces() is not { } faces) return;
        string[] files = [LfwJpeg, GreyPng, ExifRotatedJpeg, "people/Barack_Obama/5.jpg"];
        var expected = files.Select(f => { using var fr = _decoder.DecodeFile(Path.Combine(faces, f)); return fr.Pixels.ToArray(); }).ToArray();

        Parallel.For(0, 32, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var frame = _decoder.DecodeFile(Path.Combine(faces, files[i % files.Length]));
            Assert.True(frame.Pixels.SequenceEqual(expected[i % files.Length]), $"{files[i % files.Length]} differs");
        });
    }

    [Fact]
    public void Options_OutOfRange_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GstImageDecoder(new ImageDecoderOptions { MaxBytes = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GstImageDecoder(new ImageDecoderOptions { MaxPixels = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GstImageDecoder(new ImageDecoderOptions { Timeout = TimeSpan.Zero }));
    }

    private string? Faces() => TestData.FacesOrSkip(output);

    private static ImageDecodeError Error(Action decode) => Assert.Throws<ImageDecodeException>(decode).Error;

    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static int Spread(ReadOnlySpan<byte> pixels)
    {
        byte min = 255, max = 0;
        foreach (var p in pixels)
        {
            if (p < min) min = p;
            if (p > max) max = p;
        }
        return max - min;
    }

    private static double MeanAbsDiff(BgrFrame a, BgrFrame b, Func<int, int, (int X, int Y)> map)
    {
        long sum = 0;
        for (var y = 0; y < a.Height; y++)
        {
            for (var x = 0; x < a.Width; x++)
            {
                var (bx, by) = map(x, y);
                for (var c = 0; c < 3; c++)
                    sum += Math.Abs(a.Row(y)[x * 3 + c] - b.Row(by)[bx * 3 + c]);
            }
        }
        return sum / (3.0 * a.Width * a.Height);
    }

    /// <summary>Mean |row(y)[i] - row(y+1)[i+shift]| over the image.</summary>
    private static double RowDiff(BgrFrame frame, int shift)
    {
        long sum = 0, count = 0;
        for (var y = 0; y + 1 < frame.Height; y++)
        {
            var row = frame.Row(y);
            var next = frame.Row(y + 1);
            for (var i = Math.Max(0, -shift); i < row.Length - Math.Max(0, shift); i++, count++)
                sum += Math.Abs(row[i] - next[i + shift]);
        }
        return (double)sum / count;
    }

    /// <summary>
    /// A copy of a JPEG with its orientation set to <paramref name="orientation"/> (1..8) in both places GStreamer
    /// reads it: the EXIF IFD0 tag 0x0112 and the XMP tiff:Orientation attribute (this file has both).
    /// </summary>
    private static byte[] WithOrientation(byte[] jpeg, ushort orientation)
    {
        var copy = (byte[])jpeg.Clone();
        var xmp = copy.AsSpan().IndexOf("tiff:Orientation=\""u8);
        if (xmp >= 0) copy[xmp + "tiff:Orientation=\"".Length] = (byte)('0' + orientation);
        var tiff = copy.AsSpan().IndexOf("Exif\0\0"u8) + 6;
        Assert.True(tiff > 6, "no EXIF block");
        var little = copy[tiff] == (byte)'I';
        ushort U16(int at) => little ? BinaryPrimitives.ReadUInt16LittleEndian(copy.AsSpan(at)) : BinaryPrimitives.ReadUInt16BigEndian(copy.AsSpan(at));
        var ifd = tiff + (int)(little ? BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(tiff + 4)) : BinaryPrimitives.ReadUInt32BigEndian(copy.AsSpan(tiff + 4)));
        for (var entry = ifd + 2; entry < ifd + 2 + 12 * U16(ifd); entry += 12)
        {
            if (U16(entry) != 0x0112) continue;
            if (little) BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(entry + 8), orientation);
            else BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(entry + 8), orientation);
            return copy;
        }
        throw new InvalidOperationException("no orientation tag in IFD0");
    }
}
