using System.Globalization;
using System.Text;
using RnnService.Domain.Datasets;

namespace RnnService.Training.Data;

/// <summary>
/// Time-series CSV: a header row, numeric columns, an optional time column (named <c>timestamp</c>, <c>time</c> or
/// <c>date</c>, or any column whose values are dates; it orders the rows and is not a feature) and an optional
/// <c>series</c> column (several series in one file, each kept in its own order). Rows are counted from 1 after the header.
/// </summary>
public static class CsvTimeSeriesParser
{
    private static readonly string[] TimeColumnNames = ["timestamp", "time", "date", "datetime"];

    public static ParsedDataset Parse(TextReader reader)
    {
        var problems = new ProblemList();
        var headerLine = reader.ReadLine();
        if (headerLine is null || headerLine.Trim().Length == 0) problems.Add("the file is empty; a header row is required.");
        problems.ThrowIfAny();
        var header = SplitLine(headerLine!, 0, problems).Select(name => name.Trim()).ToArray();
        problems.ThrowIfAny();
        for (var c = 0; c < header.Length; c++)
        {
            if (header[c].Length == 0) problems.Add($"header: column {c + 1} has no name.");
            else if (Array.IndexOf(header, header[c]) != c) problems.Add($"header: column \"{header[c]}\" appears twice.");
        }
        problems.ThrowIfAny();

        var seriesColumn = Array.FindIndex(header, name => name.Equals("series", StringComparison.OrdinalIgnoreCase));
        var timeColumn = Array.FindIndex(header, name => TimeColumnNames.Contains(name, StringComparer.OrdinalIgnoreCase));
        var rows = new List<string[]>();
        string? line;
        var row = 0;
        while ((line = reader.ReadLine()) is not null)
        {
            if (line.Trim().Length == 0) continue;
            row++;
            var cells = SplitLine(line, row, problems);
            if (cells.Length != header.Length)
            {
                problems.Add($"row {row}: {cells.Length} cells, but the header has {header.Length} columns.");
                continue;
            }
            rows.Add(cells);
        }
        if (rows.Count == 0) problems.Add("the file has a header but no data rows.");
        problems.ThrowIfAny();

        // A column of dates that is not named as the time column still orders the rows (the first one found).
        if (timeColumn < 0)
        {
            timeColumn = Enumerable.Range(0, header.Length).FirstOrDefault(
                c => c != seriesColumn && !IsNumber(rows[0][c]) && IsDate(rows[0][c]), -1);
        }
        var valueColumns = Enumerable.Range(0, header.Length).Where(c => c != seriesColumn && c != timeColumn).ToArray();
        if (valueColumns.Length == 0) problems.Add("the file has no numeric column to forecast.");
        problems.ThrowIfAny();

        var keys = new List<string>();
        var bySeries = new Dictionary<string, List<(double Time, DateTimeOffset? Date, int Row, double[] Values)>>();
        for (var r = 0; r < rows.Count; r++)
        {
            var cells = rows[r];
            var values = new double[valueColumns.Length];
            for (var v = 0; v < valueColumns.Length; v++)
            {
                var cell = cells[valueColumns[v]].Trim();
                if (cell.Length == 0)
                    problems.Add($"row {r + 1}, column \"{header[valueColumns[v]]}\": empty; missing values are not supported.");
                else if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out values[v]) || !double.IsFinite(values[v]))
                    problems.Add($"row {r + 1}, column \"{header[valueColumns[v]]}\": not a number ('{Shorten(cell)}').");
                else if (!float.IsFinite((float)values[v]))
                    problems.Add($"row {r + 1}, column \"{header[valueColumns[v]]}\": {cell} is out of the 32-bit float range.");
            }
            var time = 0.0;
            DateTimeOffset? date = null;
            if (timeColumn >= 0 && !TryParseOrderKey(cells[timeColumn].Trim(), out time, out date))
                problems.Add($"row {r + 1}, column \"{header[timeColumn]}\": not a date or time ('{Shorten(cells[timeColumn])}').");
            var key = seriesColumn >= 0 ? cells[seriesColumn].Trim() : "";
            if (!bySeries.TryGetValue(key, out var list))
            {
                bySeries[key] = list = [];
                keys.Add(key);
            }
            list.Add((time, date, r, values));
        }
        problems.ThrowIfAny();

        var series = new List<Series>();
        foreach (var key in keys)
        {
            // Ordered by time when there is a time column; ties and no time column keep the file's order.
            var points = bySeries[key].OrderBy(point => point.Time).ThenBy(point => point.Row).ToList();
            var values = new double[valueColumns.Length][];
            for (var v = 0; v < valueColumns.Length; v++) values[v] = points.Select(point => point.Values[v]).ToArray();
            var dates = points.All(point => point.Date is not null) ? points.Select(point => point.Date!.Value).ToArray() : null;
            series.Add(new Series(key, values) { Times = dates });
        }
        var columns = valueColumns.Select(c => header[c]).ToArray();
        var frequency = Frequency(series);
        return new ParsedDataset
        {
            Summary = new DatasetSummary
            {
                Kind = DatasetKind.TimeSeries, Format = DatasetFormat.Csv, Rows = rows.Count, Columns = columns,
                TimeColumn = timeColumn >= 0 ? header[timeColumn] : null,
                SeriesColumn = seriesColumn >= 0 ? header[seriesColumn] : null,
                Series = series.Count, MinLength = series.Min(s => s.Length), MaxLength = series.Max(s => s.Length),
                Frequency = frequency,
                Season = Seasonality.Detect(series[0].Values[0], frequency),
            },
            TimeSeries = new TimeSeriesData(columns, series),
        };
    }

    /// <summary>Splits one line on commas, honouring double quotes ("a, b" and "" for a quote) as RFC 4180 does.</summary>
    private static string[] SplitLine(string line, int row, ProblemList problems)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var ch = line[i];
            if (quoted)
            {
                if (ch != '"') cell.Append(ch);
                else if (i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                else quoted = false;
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(ch);
        }
        if (quoted) problems.Add(row == 0 ? "header: a quote is not closed." : $"row {row}: a quote is not closed.");
        cells.Add(cell.ToString().TrimEnd('\r'));
        return cells.ToArray();
    }

    private static bool IsNumber(string cell) =>
        double.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static bool IsDate(string cell) => TimeFrequency.TryParse(cell, out _);

    /// <summary>A date's ticks (and the date), or a plain number (a time column of step numbers or years).</summary>
    private static bool TryParseOrderKey(string cell, out double key, out DateTimeOffset? date)
    {
        date = null;
        if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out key) && double.IsFinite(key)) return true;
        if (!TimeFrequency.TryParse(cell, out var time)) return false;
        key = time.UtcTicks;
        date = time;
        return true;
    }

    /// <summary>The frequency every dated series keeps (the same for all), or null.</summary>
    private static string? Frequency(IReadOnlyList<Series> series)
    {
        if (series.Any(s => s.Times is null)) return null;
        var found = series.Select(s => TimeFrequency.Detect(s.Times!)).Distinct().ToList();
        return found.Count == 1 ? found[0] : null;
    }

    internal static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
