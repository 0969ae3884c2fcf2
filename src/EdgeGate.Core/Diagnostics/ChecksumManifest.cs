using System.Globalization;

namespace EdgeGate.Core.Diagnostics;

/// <summary>
/// A sha256sum-style manifest (<c>&lt;64 hex&gt;  &lt;relative path&gt;</c> per line, as scripts/assets.sha256 and
/// publish.sh's SHA256SUMS are written). Paths are compared after dropping a leading <c>./</c> and sha256sum's binary
/// marker <c>*</c>.
/// </summary>
public sealed class ChecksumManifest
{
    private readonly Dictionary<string, string> _entries;

    private ChecksumManifest(string source, Dictionary<string, string> entries)
    {
        Source = source;
        _entries = entries;
    }

    /// <summary>Where the manifest was read from (for messages).</summary>
    public string Source { get; }

    public IReadOnlyDictionary<string, string> Entries => _entries;

    /// <exception cref="FormatException">a line that is not "hash  path", naming the line.</exception>
    public static ChecksumManifest Parse(string text, string source)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var space = line.IndexOf(' ');
            if (space != 64 || !line.AsSpan(0, 64).ContainsOnlyHex())
                throw new FormatException($"{source}:{lineNumber}: expected '<64 hex digits>  <path>', got '{Shorten(line)}'");
            var path = Normalise(line[(space + 1)..].TrimStart(' ').TrimStart('*'));
            if (path.Length == 0) throw new FormatException($"{source}:{lineNumber}: no path after the checksum");
            entries[path] = line[..64].ToLowerInvariant();
        }
        return new ChecksumManifest(source, entries);
    }

    /// <summary>The expected SHA-256 (lower-case hex) of <paramref name="relativePath"/>, or null when it is not listed.</summary>
    public string? Expected(string relativePath) => _entries.GetValueOrDefault(Normalise(relativePath));

    private static string Normalise(string path)
    {
        path = path.Replace('\\', '/');
        while (path.StartsWith("./", StringComparison.Ordinal)) path = path[2..];
        return path;
    }

    private static string Shorten(string line) => line.Length <= 80 ? line : string.Create(CultureInfo.InvariantCulture, $"{line[..77]}...");
}

internal static class HexSpanExtensions
{
    public static bool ContainsOnlyHex(this ReadOnlySpan<char> span)
    {
        foreach (var c in span)
            if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }
}
