using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EdgeGate.Core.Gallery;

/// <summary>One allowed range of wall-clock time starting on <see cref="Day"/>. <see cref="From"/> &gt; <see cref="To"/> runs overnight into the next day.</summary>
public readonly record struct ScheduleRange(DayOfWeek Day, TimeSpan From, TimeSpan To)
{
    public bool Overnight => To <= From;
    public override string ToString() => $"{WeeklySchedule.Format(From)}-{WeeklySchedule.Format(To)}";
}

/// <summary>A problem with one field of a schedule: <see cref="Field"/> is a path such as <c>schedule.mon[1]</c>.</summary>
public sealed record ScheduleError(string Field, string Code, string Message);

/// <summary>
/// When a person may enter, per day of the week, in the wall-clock time of the site's time zone:
/// <c>{"mon":["08:00-18:00"],"fri":["08:00-12:00","13:00-17:00"],"sat":["22:00-06:00"]}</c>. A day that is not listed
/// allows nothing; a range whose end is not after its start (<c>22:00-06:00</c>) runs past midnight into the next day
/// (Saturday 22:00 to Sunday 06:00). <c>24:00</c> is allowed as an end.
/// </summary>
/// <remarks>
/// Evaluated on local wall time (<see cref="TimeZoneInfo.ConvertTime(DateTimeOffset, TimeZoneInfo)"/>), which is what a
/// door sign means: "08:00-18:00" is 08:00–18:00 on the clock on the day the clocks change too. A range inside the hour
/// skipped in spring never matches on that day; the hour repeated in autumn matches twice.
/// </remarks>
public sealed class WeeklySchedule : IEquatable<WeeklySchedule>
{
    public static readonly IReadOnlyList<string> DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    public const int MaxRangesPerDay = 8;

    private WeeklySchedule(IReadOnlyList<ScheduleRange> ranges) => Ranges = ranges;

    /// <summary>Every range, ordered by day (Monday first) then start.</summary>
    public IReadOnlyList<ScheduleRange> Ranges { get; }

    /// <summary>True when the wall-clock time of <paramref name="instant"/> in <paramref name="zone"/> lies in a range.</summary>
    public bool Allows(DateTimeOffset instant, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(instant, zone);
        var day = local.DayOfWeek;
        var previous = (DayOfWeek)(((int)day + 6) % 7);
        var t = local.TimeOfDay;
        foreach (var r in Ranges)
        {
            if (r.Day == day && t >= r.From && (r.Overnight || t < r.To)) return true;
            if (r.Day == previous && r.Overnight && t < r.To) return true;
        }
        return false;
    }

    /// <summary>Parses the JSON form; errors name each bad field (code <c>bad_day</c>, <c>bad_range</c>, <c>too_many_ranges</c>, <c>bad_schedule</c>).</summary>
    public static (WeeklySchedule? Schedule, IReadOnlyList<ScheduleError> Errors) Parse(JsonElement json, string field = "schedule")
    {
        var errors = new List<ScheduleError>();
        if (json.ValueKind != JsonValueKind.Object)
            return (null, [new ScheduleError(field, "bad_schedule", $"'{field}' must be an object of day → [\"HH:MM-HH:MM\", …] (days: mon … sun)")]);
        var ranges = new List<ScheduleRange>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in json.EnumerateObject())
        {
            var dayField = $"{field}.{property.Name}";
            var dayIndex = IndexOfDay(property.Name);
            if (dayIndex < 0)
            {
                errors.Add(new ScheduleError(dayField, "bad_day", $"'{property.Name}' is not a day (use mon, tue, wed, thu, fri, sat, sun)"));
                continue;
            }
            if (!seen.Add(DayNames[dayIndex]))
            {
                errors.Add(new ScheduleError(dayField, "bad_day", $"'{DayNames[dayIndex]}' is given twice"));
                continue;
            }
            if (property.Value.ValueKind != JsonValueKind.Array)
            {
                errors.Add(new ScheduleError(dayField, "bad_range", $"'{dayField}' must be an array of \"HH:MM-HH:MM\" strings"));
                continue;
            }
            if (property.Value.GetArrayLength() > MaxRangesPerDay)
            {
                errors.Add(new ScheduleError(dayField, "too_many_ranges", $"'{dayField}' has more than {MaxRangesPerDay} ranges"));
                continue;
            }
            var i = 0;
            foreach (var item in property.Value.EnumerateArray())
            {
                var itemField = $"{dayField}[{i++}]";
                string? why = null;
                if (item.ValueKind == JsonValueKind.String && TryParseRange(item.GetString()!, out var from, out var to, out why))
                    ranges.Add(new ScheduleRange((DayOfWeek)dayIndex, from, to));
                else
                    errors.Add(new ScheduleError(itemField, "bad_range", $"'{itemField}' must be \"HH:MM-HH:MM\" (00:00–24:00, start ≠ end){(why is null ? "" : $": {why}")}"));
            }
        }
        if (errors.Count > 0) return (null, errors);
        return (new WeeklySchedule(Order(ranges)), errors);
    }

    /// <summary>Parses the stored JSON text (as written by <see cref="ToJson"/>).</summary>
    /// <exception cref="FormatException">not a valid schedule.</exception>
    public static WeeklySchedule FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        var (schedule, errors) = Parse(document.RootElement);
        return schedule ?? throw new FormatException(string.Join("; ", errors.Select(e => e.Message)));
    }

    /// <summary>Canonical JSON: days Monday first, ranges sorted by start.</summary>
    public string ToJson()
    {
        var sb = new StringBuilder("{");
        var first = true;
        foreach (var group in Ranges.GroupBy(r => r.Day))
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append('"').Append(DayNames[(int)group.Key]).Append("\":[");
            sb.Append(string.Join(',', group.Select(r => $"\"{r}\"")));
            sb.Append(']');
        }
        return sb.Append('}').ToString();
    }

    public override string ToString() => ToJson();

    // Value equality, so a Person read back from the gallery equals the one that was written.
    public bool Equals(WeeklySchedule? other) => other is not null && Ranges.SequenceEqual(other.Ranges);
    public override bool Equals(object? obj) => Equals(obj as WeeklySchedule);
    public override int GetHashCode() => ToJson().GetHashCode(StringComparison.Ordinal);

    internal static string Format(TimeSpan t) => t == TimeSpan.FromHours(24) ? "24:00" : t.ToString(@"hh\:mm", CultureInfo.InvariantCulture);

    private static IReadOnlyList<ScheduleRange> Order(List<ScheduleRange> ranges) =>
        ranges.OrderBy(r => ((int)r.Day + 6) % 7).ThenBy(r => r.From).ThenBy(r => r.To).ToArray();

    private static int IndexOfDay(string name)
    {
        for (var i = 0; i < DayNames.Count; i++)
            if (string.Equals(DayNames[i], name, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    private static bool TryParseRange(string text, out TimeSpan from, out TimeSpan to, out string? why)
    {
        from = to = default;
        why = null;
        var parts = text.Split('-');
        if (parts.Length != 2) return false;
        if (!TryParseTime(parts[0].Trim(), out from) || !TryParseTime(parts[1].Trim(), out to)) return false;
        if (from == TimeSpan.FromHours(24)) { why = "a range cannot start at 24:00"; return false; }
        // An empty range is always a typo; a whole day is written 00:00-24:00.
        if (from == to) { why = "start and end are the same"; return false; }
        return true;
    }

    private static bool TryParseTime(string s, out TimeSpan t)
    {
        t = default;
        if (s.Length != 5 || s[2] != ':' || !char.IsAsciiDigit(s[0]) || !char.IsAsciiDigit(s[1]) || !char.IsAsciiDigit(s[3]) || !char.IsAsciiDigit(s[4]))
            return false;
        var h = (s[0] - '0') * 10 + (s[1] - '0');
        var m = (s[3] - '0') * 10 + (s[4] - '0');
        if (m > 59 || h > 24 || (h == 24 && m != 0)) return false;
        t = new TimeSpan(h, m, 0);
        return true;
    }
}
