namespace EdgeGate.Core.Evaluation;

public sealed record LabelledPair(string A, string B, bool Same);

/// <summary>Reads a verification pairs file: header <c>a,b,same</c>; paths relative to the file's folder; same is 1 or 0.</summary>
public static class PairsCsv
{
    public static IReadOnlyList<LabelledPair> Read(string path)
    {
        var lines = File.ReadAllLines(path);
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Parse(lines, baseDir, path);
    }

    /// <exception cref="FormatException">bad header or row; the message names the line.</exception>
    public static IReadOnlyList<LabelledPair> Parse(IReadOnlyList<string> lines, string baseDir, string name = "pairs")
    {
        if (lines.Count == 0 || !string.Equals(lines[0].Trim().TrimStart('\uFEFF'), "a,b,same", StringComparison.OrdinalIgnoreCase))
            throw new FormatException($"{name}: line 1 must be the header 'a,b,same'");
        var pairs = new List<LabelledPair>(lines.Count - 1);
        for (var i = 1; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            if (cells.Length != 3)
                throw new FormatException($"{name}: line {i + 1} has {cells.Length} fields, expected 3 (a,b,same)");
            var same = cells[2].Trim() switch
            {
                "1" => true,
                "0" => false,
                var other => throw new FormatException($"{name}: line {i + 1}: same must be 1 or 0, got '{other}'"),
            };
            if (cells[0].Trim().Length == 0 || cells[1].Trim().Length == 0)
                throw new FormatException($"{name}: line {i + 1}: empty image path");
            pairs.Add(new LabelledPair(Path.Combine(baseDir, cells[0].Trim()), Path.Combine(baseDir, cells[1].Trim()), same));
        }
        if (pairs.Count == 0) throw new FormatException($"{name}: no pairs");
        return pairs;
    }
}
