using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using RnnService.Domain.Datasets;
using RnnService.Training.Storage;

namespace RnnService.Api.Datasets;

public sealed class DatasetOptions
{
    public const string Section = "Datasets";

    /// <summary>Largest dataset file accepted, in bytes (default 256 MiB); larger uploads get 413.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 256L << 20;
}

/// <summary>A stored dataset and what parsing found in it.</summary>
public sealed record DatasetResponse(
    [property: Description("Opaque id, e.g. ds_3f9a0c1e2b4d5f60.")] string Id,
    string Name,
    [property: Description("csv or jsonl.")] DatasetFormat Format,
    [property: Description("timeSeries (CSV), sequences or texts (JSON lines).")] DatasetKind Kind,
    [property: Description("Data rows (CSV) or lines (JSON lines).")] int Rows,
    [property: Description("Time series: the numeric columns, which tasks may use as targets and features.")] IReadOnlyList<string>? Columns,
    [property: Description("Time series: the column that ordered the rows, if any.")] string? TimeColumn,
    [property: Description("Time series: the regular frequency of the time column's dates (hour, day, week, month, quarter, year), if they keep one.")] string? Frequency,
    [property: Description("Time series: the season found in the data (a forecast's default task.season); 1 for none.")] int? Season,
    [property: Description("Time series: the column that names the series, if any.")] string? SeriesColumn,
    [property: Description("Time series: how many series.")] int? Series,
    [property: Description("Sequences: features per step.")] int? FeatureCount,
    [property: Description("Shortest series, sequence, or text (in tokens).")] int MinLength,
    int MaxLength,
    [property: Description("Sequences and texts: class labels with their counts, or the width of numeric labels.")] LabelSummary? Labels,
    long SizeBytes,
    DateTimeOffset CreatedAt)
{
    public static DatasetResponse From(DatasetRecord record)
    {
        var summary = StoredJson.Read<DatasetSummary>(record.Summary);
        var timeSeries = summary.Kind == DatasetKind.TimeSeries;
        return new DatasetResponse(
            record.Id, record.Name, record.Format, record.Kind, summary.Rows, summary.Columns, summary.TimeColumn,
            summary.Frequency, timeSeries ? summary.Season ?? 1 : null, summary.SeriesColumn, timeSeries ? summary.Series : null, summary.FeatureCount, summary.MinLength,
            summary.MaxLength, summary.Labels, record.SizeBytes, record.CreatedAt);
    }
}

/// <summary>The form of POST /datasets, for the OpenAPI document.</summary>
public sealed class DatasetUploadForm
{
    [Description("The dataset file: time-series CSV, or JSON lines of sequences or texts with labels.")]
    public required IFormFile File { get; init; }

    [Description("A name to recognise it by; default: the file name without its extension.")]
    public string? Name { get; init; }

    [Description("csv or jsonl; inferred from the file name when absent.")]
    public string? Format { get; init; }
}

/// <summary>POST /datasets as JSON: the dataset's text inline.</summary>
public sealed record InlineDataset
{
    [Description("A name to recognise it by (training jobs may refer to the newest dataset of a name). Default: dataset.")]
    public string? Name { get; init; }

    [Description("csv or jsonl; inferred from the content when absent (JSON lines start with '{').")]
    public string? Format { get; init; }

    [Description("The dataset itself: a time-series CSV, or JSON lines of sequences or texts with labels.")]
    public string? Content { get; init; }
}
