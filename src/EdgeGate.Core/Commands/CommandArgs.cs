using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeGate.Core.Gallery;

namespace EdgeGate.Core.Commands;

/// <summary>Typed access to a command's <c>args</c>; every failure is a <see cref="CommandException"/> naming the field.</summary>
public sealed class CommandArgs(JsonElement args)
{
    public JsonElement Raw { get; } = args.ValueKind == JsonValueKind.Object
        ? args
        : throw new CommandException(CommandErrors.BadField, "'args' must be a JSON object");

    public bool Has(string name) => Raw.TryGetProperty(name, out _);

    public string RequiredString(string name, int maxLength) =>
        OptionalString(name, maxLength) ?? throw new CommandException(CommandErrors.MissingField, $"'{name}' is required");

    public string? OptionalString(string name, int maxLength)
    {
        if (!Raw.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw Bad(name, "must be a string");
        var s = v.GetString()!;
        if (s.Trim().Length == 0) throw Bad(name, "must not be empty");
        if (s.Length > maxLength) throw Bad(name, $"must be at most {maxLength} characters");
        if (s.Any(char.IsControl)) throw Bad(name, "must not contain control characters");
        return s;
    }

    public bool? OptionalBool(string name)
    {
        if (!Raw.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(name, "must be true or false"),
        };
    }

    public int OptionalInt(string name, int defaultValue, int min, int max)
    {
        if (!Raw.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return defaultValue;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i) || i < min || i > max) throw Bad(name, $"must be an integer {min}..{max}");
        return i;
    }

    /// <summary>(present, value): absent = leave as is; null = clear; else an ISO 8601 time with an offset.</summary>
    public (bool Present, DateTimeOffset? Value) OptionalTime(string name)
    {
        if (!Raw.TryGetProperty(name, out var v)) return (false, null);
        if (v.ValueKind == JsonValueKind.Null) return (true, null);
        if (v.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(v.GetString(), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            return (true, t);
        throw Bad(name, "must be an ISO 8601 time (e.g. 2026-12-31T23:59:59Z) or null");
    }

    /// <summary>
    /// (present, value): absent = leave as is; null = no schedule (any time); else a <see cref="WeeklySchedule"/>. A bad
    /// schedule is <c>bad_field</c> with one detail per bad field (<c>field</c>, <c>code</c>, <c>message</c>).
    /// </summary>
    public (bool Present, WeeklySchedule? Value) OptionalSchedule(string name)
    {
        if (!Raw.TryGetProperty(name, out var v)) return (false, null);
        if (v.ValueKind == JsonValueKind.Null) return (true, null);
        var (schedule, errors) = WeeklySchedule.Parse(v, name);
        if (schedule is null)
        {
            var details = new JsonArray();
            foreach (var e in errors) details.Add(new JsonObject { ["field"] = e.Field, ["code"] = e.Code, ["message"] = e.Message });
            throw new CommandException(CommandErrors.BadField, $"'{name}' is not a valid weekly schedule: {errors[0].Message}", details);
        }
        if (schedule.Ranges.Count == 0)
            throw new CommandException(CommandErrors.BadField, $"'{name}' allows no time at all; use null for \"any time\" or enabled=false to lock someone out");
        return (true, schedule);
    }

    /// <summary>A non-empty array of strings (e.g. base64 images), at most <paramref name="maxItems"/>.</summary>
    public IReadOnlyList<string> RequiredStringArray(string name, int maxItems)
    {
        if (!Raw.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            throw new CommandException(CommandErrors.MissingField, $"'{name}' is required");
        if (v.ValueKind != JsonValueKind.Array) throw Bad(name, "must be an array of strings");
        var n = v.GetArrayLength();
        if (n == 0) throw new CommandException(CommandErrors.MissingField, $"'{name}' must hold at least one item");
        if (n > maxItems) throw Bad(name, $"must hold at most {maxItems} items");
        var list = new List<string>(n);
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw Bad(name, "must be an array of strings");
            list.Add(item.GetString()!);
        }
        return list;
    }

    /// <summary>Decodes base64 (standard alphabet, padding optional, whitespace ignored); null when it is not base64.</summary>
    public static byte[]? DecodeBase64(string s)
    {
        var trimmed = s.Replace("\n", "").Replace("\r", "").Trim();
        if (trimmed.Length % 4 is var r && r != 0) trimmed += new string('=', 4 - r);
        var buffer = new byte[trimmed.Length * 3 / 4 + 3];
        return Convert.TryFromBase64String(trimmed, buffer, out var n) && n > 0 ? buffer[..n] : null;
    }

    private static CommandException Bad(string name, string what) => new(CommandErrors.BadField, $"'{name}' {what}");
}
