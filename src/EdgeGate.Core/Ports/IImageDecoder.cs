using EdgeGate.Core.Frames;

namespace EdgeGate.Core.Ports;

/// <summary>Decodes an encoded still image (JPEG, PNG) into an upright <see cref="BgrFrame"/>.</summary>
public interface IImageDecoder
{
    /// <exception cref="ImageDecodeException">the bytes are not a usable image; <see cref="ImageDecodeException.Error"/> says why.</exception>
    BgrFrame Decode(ReadOnlySpan<byte> encoded);

    /// <exception cref="ImageDecodeException">missing file, or the file is not a usable image.</exception>
    BgrFrame DecodeFile(string path);
}

public enum ImageDecodeError
{
    /// <summary>No such file, or it could not be read.</summary>
    NotFound,
    /// <summary>Zero bytes.</summary>
    Empty,
    /// <summary>Larger than the configured byte limit or pixel limit.</summary>
    TooLarge,
    /// <summary>Not JPEG or PNG (by signature).</summary>
    Unsupported,
    /// <summary>JPEG/PNG signature but the data could not be decoded (corrupt or truncated).</summary>
    Corrupt,
    /// <summary>The decoder did not finish within its time limit.</summary>
    Timeout,
}

public sealed class ImageDecodeException(ImageDecodeError error, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ImageDecodeError Error { get; } = error;
}
