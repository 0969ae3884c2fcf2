using System.Text.Json;
using EdgeGate.Core.Gallery;

namespace EdgeGate.Core.Tests.Gallery;

public class WeeklyScheduleTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    private static WeeklySchedule Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var (schedule, errors) = WeeklySchedule.Parse(doc.RootElement);
        Assert.Empty(errors);
        return schedule!;
    }

    private static IReadOnlyList<ScheduleError> Errors(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var (schedule, errors) = WeeklySchedule.Parse(doc.RootElement);
        Assert.Null(schedule);
        return errors;
    }

    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void OfficeHours_InBerlin_AllowInsideOnly_BoundsInclusiveExclusive()
    {
        var s = Parse("""{"mon":["08:00-18:00"],"tue":["08:00-18:00"]}""");
        // 2026-01-05 is a Monday; Berlin is UTC+1 in winter.
        Assert.False(s.Allows(Utc("2026-01-05T06:59:59Z"), Berlin)); // 07:59:59 local
        Assert.True(s.Allows(Utc("2026-01-05T07:00:00Z"), Berlin));  // 08:00 local
        Assert.True(s.Allows(Utc("2026-01-05T16:59:59Z"), Berlin));  // 17:59:59 local
        Assert.False(s.Allows(Utc("2026-01-05T17:00:00Z"), Berlin)); // 18:00 local: end is exclusive
        Assert.False(s.Allows(Utc("2026-01-07T10:00:00Z"), Berlin)); // a Wednesday: not listed
        // The same instant read in UTC is another wall time: the zone matters.
        Assert.True(s.Allows(Utc("2026-01-05T17:30:00Z"), TimeZoneInfo.Utc));
    }

    [Fact]
    public void OvernightRange_RunsIntoTheNextDay_AndNotIntoTheDayBefore()
    {
        var s = Parse("""{"sat":["22:00-06:00"]}""");
        // 2026-01-10 is a Saturday (Berlin UTC+1).
        Assert.True(s.Allows(Utc("2026-01-10T21:00:00Z"), Berlin));  // Sat 22:00
        Assert.True(s.Allows(Utc("2026-01-11T04:59:00Z"), Berlin));  // Sun 05:59
        Assert.False(s.Allows(Utc("2026-01-11T05:00:00Z"), Berlin)); // Sun 06:00
        Assert.False(s.Allows(Utc("2026-01-10T04:00:00Z"), Berlin)); // Sat 05:00 belongs to Friday's night, not listed
        Assert.False(s.Allows(Utc("2026-01-11T21:30:00Z"), Berlin)); // Sun 22:30
    }

    [Fact]
    public void SundayNightIntoMonday_WrapsTheWeek()
    {
        var s = Parse("""{"sun":["23:00-02:00"]}""");
        Assert.True(s.Allows(Utc("2026-01-12T00:30:00Z"), Berlin));  // Mon 01:30
        Assert.False(s.Allows(Utc("2026-01-12T01:30:00Z"), Berlin)); // Mon 02:30
    }

    [Fact]
    public void BerlinSpringForward_WallClockRangesFollowTheClock()
    {
        // 2026-03-29 (Sunday): 02:00 CET → 03:00 CEST. Before: UTC+1, after: UTC+2.
        var s = Parse("""{"sun":["08:00-18:00","02:15-02:45"]}""");
        Assert.True(s.Allows(Utc("2026-03-29T06:00:00Z"), Berlin));  // 08:00 CEST
        Assert.False(s.Allows(Utc("2026-03-29T05:59:59Z"), Berlin));  // 07:59:59 CEST
        Assert.False(s.Allows(Utc("2026-03-29T16:00:00Z"), Berlin)); // 18:00 CEST, though only 17:00 in last week's offset
        Assert.True(s.Allows(Utc("2026-03-29T15:59:00Z"), Berlin));  // 17:59 CEST
        // 02:15-02:45 does not exist that night: 00:59 UTC is 01:59 CET, 01:00 UTC is 03:00 CEST.
        Assert.False(s.Allows(Utc("2026-03-29T00:59:59Z"), Berlin));
        Assert.False(s.Allows(Utc("2026-03-29T01:00:00Z"), Berlin));
        Assert.False(s.Allows(Utc("2026-03-29T01:30:00Z"), Berlin));
    }

    [Fact]
    public void BerlinFallBack_TheRepeatedHourMatchesBothTimes()
    {
        // 2026-10-25 (Sunday): 03:00 CEST → 02:00 CET, so 02:00–03:00 local happens twice.
        var s = Parse("""{"sun":["02:00-03:00"]}""");
        Assert.True(s.Allows(Utc("2026-10-25T00:30:00Z"), Berlin));  // 02:30 CEST
        Assert.True(s.Allows(Utc("2026-10-25T01:30:00Z"), Berlin));  // 02:30 CET
        Assert.False(s.Allows(Utc("2026-10-25T02:00:00Z"), Berlin)); // 03:00 CET
        Assert.False(s.Allows(Utc("2026-10-24T23:59:00Z"), Berlin)); // 01:59 CEST
    }

    [Fact]
    public void NewYork_AcrossBothChanges_OfficeHoursStayAtNineToFive()
    {
        var s = Parse("""{"sun":["09:00-17:00"]}""");
        // 2026-03-08: 02:00 EST → 03:00 EDT. 09:00 EDT = 13:00 UTC; the week before 09:00 EST = 14:00 UTC.
        Assert.True(s.Allows(Utc("2026-03-08T13:00:00Z"), NewYork));
        Assert.False(s.Allows(Utc("2026-03-08T12:59:00Z"), NewYork));
        Assert.True(s.Allows(Utc("2026-03-01T14:00:00Z"), NewYork));
        Assert.False(s.Allows(Utc("2026-03-01T13:30:00Z"), NewYork));
        // 2026-11-01: 02:00 EDT → 01:00 EST. 17:00 EST = 22:00 UTC.
        Assert.True(s.Allows(Utc("2026-11-01T21:59:00Z"), NewYork));
        Assert.False(s.Allows(Utc("2026-11-01T22:00:00Z"), NewYork));
    }

    [Fact]
    public void WholeDay_IsWrittenZeroToTwentyFour()
    {
        var s = Parse("""{"wed":["00:00-24:00"]}""");
        Assert.True(s.Allows(Utc("2026-01-07T23:30:00Z"), TimeZoneInfo.Utc));
        Assert.True(s.Allows(Utc("2026-01-07T00:00:00Z"), TimeZoneInfo.Utc));
        Assert.False(s.Allows(Utc("2026-01-08T00:00:00Z"), TimeZoneInfo.Utc));
    }

    [Fact]
    public void ToJson_IsCanonical_AndRoundTrips()
    {
        var s = Parse("""{"SAT":["22:00-06:00"],"mon":["13:00-17:00","08:00-12:00"]}""");
        Assert.Equal("""{"mon":["08:00-12:00","13:00-17:00"],"sat":["22:00-06:00"]}""", s.ToJson());
        Assert.Equal(s.ToJson(), WeeklySchedule.FromJson(s.ToJson()).ToJson());
        Assert.Equal(s, WeeklySchedule.FromJson(s.ToJson()));
        Assert.NotEqual(s, WeeklySchedule.FromJson("""{"mon":["08:00-12:00"]}"""));
    }

    [Theory]
    [InlineData("""{"monday":["08:00-18:00"]}""", "schedule.monday", "bad_day")]
    [InlineData("""{"mon":["08:00-18:00"],"MON":["09:00-10:00"]}""", "schedule.MON", "bad_day")]
    [InlineData("""{"mon":"08:00-18:00"}""", "schedule.mon", "bad_range")]
    [InlineData("""{"mon":["8:00-18:00"]}""", "schedule.mon[0]", "bad_range")]
    [InlineData("""{"mon":["08:00-18:60"]}""", "schedule.mon[0]", "bad_range")]
    [InlineData("""{"mon":["08:00-25:00"]}""", "schedule.mon[0]", "bad_range")]
    [InlineData("""{"mon":["08:00"]}""", "schedule.mon[0]", "bad_range")]
    [InlineData("""{"mon":["09:00-09:00"]}""", "schedule.mon[0]", "bad_range")]
    [InlineData("""{"mon":["24:00-06:00"]}""", "schedule.mon[0]", "bad_range")]
    [InlineData("""{"mon":[8]}""", "schedule.mon[0]", "bad_range")]
    [InlineData("""{"mon":["1:00-2:00","01:00-02:00","01:00-02:00","01:00-02:00","01:00-02:00","01:00-02:00","01:00-02:00","01:00-02:00","01:00-02:00"]}""", "schedule.mon", "too_many_ranges")]
    [InlineData("""["08:00-18:00"]""", "schedule", "bad_schedule")]
    public void BadSchedules_NameTheFieldAndCode(string json, string field, string code)
    {
        var e = Assert.Single(Errors(json));
        Assert.Equal((field, code), (e.Field, e.Code));
    }

    [Fact]
    public void EveryBadFieldIsReported()
    {
        var errors = Errors("""{"mon":["08:00-18:00","x"],"fun":[],"tue":["07:00-07:00"]}""");
        Assert.Equal(["schedule.mon[1]", "schedule.fun", "schedule.tue[0]"], errors.Select(e => e.Field));
    }
}
