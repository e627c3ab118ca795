using System.Globalization;
using System.Text;
using RnnService.Domain.Datasets;
using RnnService.Training.Data;
using RnnService.Training.Tasks.Forecast;

namespace RnnService.Api.Tests.Data;

/// <summary>What a time series says about itself: the frequency of its dates, its season, and the calendar of a step.</summary>
public sealed class SeasonalityTests
{
    private static DatasetSummary Summary(string csv) =>
        DatasetParser.Parse(new MemoryStream(Encoding.UTF8.GetBytes(csv)), DatasetFormat.Csv).Summary;

    private static string Csv(int count, Func<int, string> time, Func<int, double> value) =>
        "time,y\n" + string.Concat(Enumerable.Range(0, count).Select(i => $"{time(i)},{value(i).ToString(CultureInfo.InvariantCulture)}\n"));

    [Theory]
    [InlineData("month", 12)]
    [InlineData("day", 7)]
    [InlineData("hour", 24)]
    [InlineData("quarter", 4)]
    public void ADatedSeriesKeepsItsFrequencyAndTheSeasonItRepeats(string frequency, int season)
    {
        var start = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        string Time(int i) => frequency switch
        {
            "month" => start.AddMonths(i).ToString("yyyy-MM", CultureInfo.InvariantCulture),
            "quarter" => start.AddMonths(3 * i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "day" => start.AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            _ => start.AddHours(i).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        var random = new Random(2);
        var summary = Summary(Csv(10 * season, Time, i => 50 + 0.3 * i + 10 * Math.Sin(2 * Math.PI * i / season) + random.NextDouble()));

        Assert.Equal(frequency, summary.Frequency);
        Assert.Equal(season, summary.Season);
    }

    [Fact]
    public void WithoutDatesTheSeasonIsTheStrongestRepeatAndNoiseHasNone()
    {
        var random = new Random(3);
        var weekly = Summary("y\n" + string.Concat(Enumerable.Range(0, 140).Select(i =>
            $"{(i % 7 == 5 ? 30 : 10) + random.NextDouble() + 0.1 * i:F3}\n")));
        Assert.Null(weekly.Frequency);
        Assert.Equal(7, weekly.Season);

        var noise = Summary("y\n" + string.Concat(Enumerable.Range(0, 140).Select(_ => $"{random.NextDouble():F3}\n")));
        Assert.Equal(1, noise.Season);
    }

    [Fact]
    public void IrregularDatesHaveNoFrequency()
    {
        var summary = Summary(Csv(30, i => new DateTime(2020, 1, 1).AddDays(i * i % 17 + i * 20).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), i => i));
        Assert.Null(summary.Frequency);
    }

    [Fact]
    public void CalendarFeaturesAreOneHotPositionsOfTheStepsTime()
    {
        Assert.Equal([CalendarFeatures.HourOfDay, CalendarFeatures.DayOfWeek], CalendarFeatures.For(TimeFrequency.Hour));
        Assert.Equal([CalendarFeatures.MonthOfYear], CalendarFeatures.For(TimeFrequency.Month));
        Assert.Empty(CalendarFeatures.For(TimeFrequency.Year));

        var cycles = CalendarFeatures.For(TimeFrequency.Day);
        var values = new float[CalendarFeatures.Width(cycles)];
        // Wednesday 6 March 2024: day 2 of the week (Monday first), month 2 of the year (January first).
        CalendarFeatures.Write(new DateTimeOffset(2024, 3, 6, 10, 0, 0, TimeSpan.Zero), cycles, values);
        Assert.Equal(7 + 12, values.Length);
        Assert.Equal([2, 7 + 2], Enumerable.Range(0, values.Length).Where(i => values[i] == 1));
        Assert.Equal(2, values.Sum());
        Assert.Equal(new DateTimeOffset(2025, 2, 1, 0, 0, 0, TimeSpan.Zero),
            TimeFrequency.Add(new DateTimeOffset(2024, 11, 1, 0, 0, 0, TimeSpan.Zero), TimeFrequency.Month, 3));
    }
}
