using System.Globalization;

namespace RnnService.Training.Data;

/// <summary>
/// Times as the service reads them (ISO 8601 dates and times, or year-month as monthly data is often written), and the
/// regular frequency of a series of them: <c>hour</c>, <c>day</c>, <c>week</c>, <c>month</c>, <c>quarter</c> or
/// <c>year</c>.
/// </summary>
public static class TimeFrequency
{
    public const string Hour = "hour", Day = "day", Week = "week", Month = "month", Quarter = "quarter", Year = "year";

    public static readonly IReadOnlyList<string> All = [Hour, Day, Week, Month, Quarter, Year];

    public static bool TryParse(string text, out DateTimeOffset time)
    {
        text = text.Trim();
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time)) return true;
        return DateTimeOffset.TryParseExact(text, ["yyyy-MM", "yyyy/MM", "yyyy"], CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out time);
    }

    /// <summary>
    /// The frequency the gaps between consecutive times keep (their median, so that a missing step or two do not change
    /// it); null for fewer than two times or a gap that is none of the six.
    /// </summary>
    public static string? Detect(IReadOnlyList<DateTimeOffset> times)
    {
        if (times.Count < 2) return null;
        var gaps = new double[times.Count - 1];
        for (var i = 1; i < times.Count; i++) gaps[i - 1] = (times[i] - times[i - 1]).TotalHours;
        Array.Sort(gaps);
        var days = gaps[gaps.Length / 2] / 24;
        return days switch
        {
            > 0.99 / 24 and < 1.01 / 24 => Hour,
            > 0.99 and < 1.01 => Day,
            > 6.9 and < 7.1 => Week,
            >= 28 and <= 31 => Month,
            >= 89 and <= 92 => Quarter,
            >= 365 and <= 366 => Year,
            _ => null,
        };
    }

    /// <summary>The time <paramref name="steps"/> steps of <paramref name="frequency"/> after <paramref name="start"/>.</summary>
    public static DateTimeOffset Add(DateTimeOffset start, string frequency, int steps) => frequency switch
    {
        Hour => start.AddHours(steps),
        Day => start.AddDays(steps),
        Week => start.AddDays(7.0 * steps),
        Month => start.AddMonths(steps),
        Quarter => start.AddMonths(3 * steps),
        Year => start.AddYears(steps),
        _ => throw new ArgumentException($"'{frequency}' is not a frequency", nameof(frequency)),
    };

    /// <summary>The season a frequency usually has: a day of hours, a week of days, a year of weeks, months or quarters.</summary>
    public static int Season(string? frequency) => frequency switch
    {
        Hour => 24,
        Day => 7,
        Week => 52,
        Month => 12,
        Quarter => 4,
        _ => 1,
    };
}
