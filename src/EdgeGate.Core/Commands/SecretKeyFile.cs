using System.Text;

namespace EdgeGate.Core.Commands;

/// <summary>
/// The one reader for secret key files (the command HMAC key, the gallery's template key): base64 or hex text, in a file
/// that group and others cannot touch. A key anyone on the device can read protects nothing, so an open file is refused
/// rather than used.
/// </summary>
public static class SecretKeyFile
{
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <param name="what">how the key is named in errors, e.g. "command key file".</param>
    /// <exception cref="InvalidDataException">missing, too open, or not a key of at least <paramref name="minBytes"/>; the message names the key and the path.</exception>
    public static byte[] Read(string path, string what, int minBytes)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{what} '{path}' does not exist");
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & GroupOrOther) != 0)
            throw new InvalidDataException($"{what} '{path}' is accessible to group or others (chmod 600 it)");
        return Parse(File.ReadAllText(path, Encoding.UTF8), minBytes)
            ?? throw new InvalidDataException($"{what} '{path}' must hold at least {minBytes} bytes as hex or base64");
    }

    /// <summary>A key as a key file holds it (hex or base64, surrounding white space ignored); null if it is not one of at least <paramref name="minBytes"/>.</summary>
    public static byte[]? Parse(string keyText, int minBytes)
    {
        var text = keyText.Trim();
        byte[]? key = null;
        if (text.Length % 2 == 0 && text.All(char.IsAsciiHexDigit)) key = Convert.FromHexString(text);
        else
        {
            var buffer = new byte[text.Length];
            if (Convert.TryFromBase64String(text, buffer, out var n)) key = buffer[..n];
        }
        return key is null || key.Length < minBytes ? null : key;
    }

    /// <summary>
    /// Writes <paramref name="key"/> as hex to a new file created with mode 0600 from the start (never readable by others,
    /// not even between create and chmod). Fails if the file exists: a key is never overwritten.
    /// </summary>
    public static void CreateNew(string path, byte[] key)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        stream.Write(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(key) + "\n"));
        stream.Flush(flushToDisk: true);
    }
}
