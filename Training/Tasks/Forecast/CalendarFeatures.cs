using RnnService.Training.Data;

namespace RnnService.Training.Tasks.Forecast;

/// <summary>
/// Calendar features of a step's time, one-hot: the cycles that fit a series' frequency (hour of day and day of week for
/// hourly data, day of week and month of year for daily, month of year for weekly and monthly, quarter for quarterly).
/// </summary>
public static class CalendarFeatures
{
    public const string HourOfDay = "hourOfDay", DayOfWeek = "dayOfWeek", MonthOfYear = "monthOfYear", QuarterOfYear = "quarterOfYear";

    public static readonly IReadOnlyList<string> All = [HourOfDay, DayOfWeek, MonthOfYear, QuarterOfYear];

    public static IReadOnlyList<string> For(string? frequency) => frequency switch
    {
        TimeFrequency.Hour => [HourOfDay, DayOfWeek],
        TimeFrequency.Day => [DayOfWeek, MonthOfYear],
        TimeFrequency.Week or TimeFrequency.Month => [MonthOfYear],
        TimeFrequency.Quarter => [QuarterOfYear],
        _ => [],
    };

    public static int Width(IReadOnlyList<string> cycles) => cycles.Sum(Size);

    /// <summary>Writes the one-hot features of <paramref name="time"/> (in UTC) to <paramref name="destination"/>, <see cref="Width"/> values.</summary>
    public static void Write(DateTimeOffset time, IReadOnlyList<string> cycles, Span<float> destination)
    {
        destination[..Width(cycles)].Clear();
        var utc = time.UtcDateTime;
        var offset = 0;
        foreach (var cycle in cycles)
        {
            var position = cycle switch
            {
                HourOfDay => utc.Hour,
                DayOfWeek => ((int)utc.DayOfWeek + 6) % 7, // Monday first
                MonthOfYear => utc.Month - 1,
                QuarterOfYear => (utc.Month - 1) / 3,
                _ => throw new ArgumentException($"'{cycle}' is not a calendar feature", nameof(cycles)),
            };
            destination[offset + position] = 1;
            offset += Size(cycle);
        }
    }

    private static int Size(string cycle) => cycle switch
    {
        HourOfDay => 24,
        DayOfWeek => 7,
        MonthOfYear => 12,
        QuarterOfYear => 4,
        _ => throw new ArgumentException($"'{cycle}' is not a calendar feature", nameof(cycle)),
    };
}
