using System.Buffers.Binary;
using EdgeGate.Camera.Interop;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;

namespace EdgeGate.Camera;

/// <summary>Limits for <see cref="GstImageDecoder"/>.</summary>
public sealed record ImageDecoderOptions
{
    /// <summary>Largest encoded input accepted, in bytes.</summary>
    public long MaxBytes { get; init; } = 20 * 1024 * 1024;

    /// <summary>Largest decoded image accepted, width × height.</summary>
    public long MaxPixels { get; init; } = 40_000_000;

    /// <summary>How long one decode may take before it is abandoned.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Decodes JPEG and PNG stills with GStreamer into upright BGR frames (JPEG EXIF orientation applied).
/// Each call builds and tears down its own pipeline, so one instance may be used from several threads.
/// </summary>
public sealed class GstImageDecoder : IImageDecoder
{
    // jpegparse publishes the orientation (EXIF, or XMP tiff:Orientation) as a tag that videoflip acts on;
    // behind decodebin the tag never reaches videoflip. islow is libjpeg's accurate IDCT, the one PIL and OpenCV decode with.
    private const string JpegPipeline =
        "appsrc name=src caps=image/jpeg ! jpegparse ! jpegdec idct-method=islow ! videoflip video-direction=auto ! "
        + "videoconvert ! video/x-raw,format=BGR ! appsink name=sink sync=false max-buffers=1";

    private const string PngPipeline =
        "appsrc name=src caps=image/png ! pngdec ! "
        + "videoconvert ! video/x-raw,format=BGR ! appsink name=sink sync=false max-buffers=1";

    private readonly ImageDecoderOptions _options;

    public GstImageDecoder(ImageDecoderOptions? options = null)
    {
        _options = options ?? new ImageDecoderOptions();
        // Arrays (the input copy, the BgrFrame pixels) cap what can be held at int.MaxValue bytes.
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxBytes, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MaxBytes, Array.MaxLength, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxPixels, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MaxPixels, Array.MaxLength / 3, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.Timeout, TimeSpan.Zero, nameof(options));
    }

    public ImageDecoderOptions Options => _options;

    public BgrFrame DecodeFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] encoded;
        try
        {
            var file = new FileInfo(path);
            if (!file.Exists)
                throw new ImageDecodeException(ImageDecodeError.NotFound, $"no such file: {path}");
            CheckLength(file.Length);
            encoded = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(ImageDecodeError.NotFound, $"cannot read {path}: {e.Message}", e);
        }
        return Decode(encoded);
    }

    public BgrFrame Decode(ReadOnlySpan<byte> encoded)
    {
        CheckLength(encoded.Length);
        var format = encoded switch
        {
            [0xFF, 0xD8, 0xFF, ..] => ImageFormat.JPEG,
            [0x89, 0x50, 0x4E, 0x47, ..] => ImageFormat.PNG,
            _ => throw new ImageDecodeException(ImageDecodeError.Unsupported,
                $"not a JPEG or PNG (starts with {Convert.ToHexString(encoded[..Math.Min(8, encoded.Length)])})"),
        };
        // Sized from the header so a decompression bomb is refused before any pixel is decoded.
        var (width, height) = (format == ImageFormat.JPEG ? JpegSize(encoded) : PngSize(encoded))
            ?? throw new ImageDecodeException(ImageDecodeError.Corrupt, $"{format} header has no usable image size");
        CheckPixels(width, height);
        return Run(format, encoded);
    }

    private BgrFrame Run(ImageFormat format, ReadOnlySpan<byte> encoded)
    {
        using var pipeline = GStreamer.ParseLaunch(format == ImageFormat.JPEG ? JpegPipeline : PngPipeline);
        using var source = GStreamer.GetByName(pipeline, "src");
        using var sink = GStreamer.GetByName(pipeline, "sink");
        using var bus = GStreamer.gst_element_get_bus(pipeline);
        try
        {
            if (GStreamer.gst_element_set_state(pipeline, GstState.Paused) == GstStateChangeReturn.Failure)
                throw PopProblem(bus) ?? new GstException("pipeline would not start");
            GStreamer.PushAndClose(source, encoded);

            // Preroll rather than play: the first frame is the image, and anything after it (an MPF second
            // image, say) can neither block the wait nor replace it. An error stops the stream before preroll.
            using (var message = GStreamer.gst_bus_timed_pop_filtered(bus, TimeoutNs(),
                       GstMessageType.Error | GstMessageType.Warning | GstMessageType.AsyncDone))
            {
                if (message.IsInvalid)
                    throw new ImageDecodeException(ImageDecodeError.Timeout,
                        $"{format} not decoded within {_options.Timeout.TotalMilliseconds:0} ms");
                if (GStreamer.TypeOf(message) != GstMessageType.AsyncDone)
                    throw Corrupt(format, GStreamer.ToException(message));
            }

            using var sample = GStreamer.gst_app_sink_try_pull_preroll(sink, 0);
            // jpegdec drops an undecodable frame without a bus message; the sink then prerolls on end-of-stream alone.
            if (sample.IsInvalid)
                throw Corrupt(format, new GstException("the decoder produced no image"));
            if (PopProblem(bus) is { } late)
                throw Corrupt(format, late);
            return CopyFrame(sample);
        }
        finally
        {
            GStreamer.gst_element_set_state(pipeline, GstState.Null);
        }
    }

    private BgrFrame CopyFrame(GstSampleHandle sample)
    {
        var (width, height, _) = GStreamer.VideoCapsOf(sample)
            ?? throw new GstException("decoded sample carries no width/height");
        CheckPixels(width, height);
        return GstVideoFrames.CopyBgr(GStreamer.gst_sample_get_buffer(sample), width, height);
    }

    private static GstException? PopProblem(GstObjectHandle bus)
    {
        using var message = GStreamer.gst_bus_timed_pop_filtered(bus, 0, GstMessageType.Error | GstMessageType.Warning);
        return message.IsInvalid ? null : GStreamer.ToException(message);
    }

    private ulong TimeoutNs() => Math.Min((ulong)_options.Timeout.Ticks, GStreamer.ClockTimeNone / 100) * 100;

    private static ImageDecodeException Corrupt(ImageFormat format, GstException cause) =>
        new(ImageDecodeError.Corrupt, $"{format} data could not be decoded: {cause.Message}", cause);

    private void CheckLength(long length)
    {
        if (length == 0)
            throw new ImageDecodeException(ImageDecodeError.Empty, "image is 0 bytes");
        if (length > _options.MaxBytes)
            throw new ImageDecodeException(ImageDecodeError.TooLarge, $"image is {length} bytes, limit is {_options.MaxBytes}");
    }

    private void CheckPixels(long width, long height)
    {
        if (width <= 0 || height <= 0)
            throw new ImageDecodeException(ImageDecodeError.Corrupt, $"image size {width}x{height} is not usable");
        if (width * height > _options.MaxPixels)
            throw new ImageDecodeException(ImageDecodeError.TooLarge,
                $"image is {width}x{height} = {width * height} pixels, limit is {_options.MaxPixels}");
    }

    /// <summary>Width and height from the first SOFn segment, or null when none comes before the scan data.</summary>
    private static (int Width, int Height)? JpegSize(ReadOnlySpan<byte> jpeg)
    {
        var pos = 2;
        while (pos < jpeg.Length && jpeg[pos] == 0xFF)
        {
            while (pos < jpeg.Length && jpeg[pos] == 0xFF) pos++; // fill bytes
            if (pos >= jpeg.Length) return null;
            var marker = jpeg[pos++];
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) continue; // stand-alone markers carry no length
            if (marker is 0xD9 or 0xDA) return null; // end of image, or scan data before any frame header
            if (pos + 2 > jpeg.Length) return null;
            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[pos..]);
            if (length < 2 || pos + length > jpeg.Length) return null;
            if (marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC)) // SOF0..SOF15 minus DHT, JPG, DAC
            {
                // length, precision, height, width
                return length < 8 ? null : (BinaryPrimitives.ReadUInt16BigEndian(jpeg[(pos + 5)..]),
                    BinaryPrimitives.ReadUInt16BigEndian(jpeg[(pos + 3)..]));
            }
            pos += length;
        }
        return null;
    }

    /// <summary>Width and height from IHDR, which the PNG format requires to be the first chunk.</summary>
    private static (int Width, int Height)? PngSize(ReadOnlySpan<byte> png)
    {
        ReadOnlySpan<byte> signatureAndIhdr = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R'];
        if (png.Length < 24 || !png.StartsWith(signatureAndIhdr)) return null;
        var width = BinaryPrimitives.ReadUInt32BigEndian(png[16..]);
        var height = BinaryPrimitives.ReadUInt32BigEndian(png[20..]);
        return width is 0 or > int.MaxValue || height is 0 or > int.MaxValue ? null : ((int)width, (int)height);
    }

    private enum ImageFormat
    {
        JPEG,
        PNG,
    }
}
