using System.ComponentModel;

namespace RnnService.Domain.Jobs;

/// <summary>
/// Predictions over a stored dataset, run on the workers like a training job: a forecast for each series, or an answer
/// for each sequence or text. The job keeps the request with the model resolved to its version.
/// </summary>
public sealed record PredictionJobRequest
{
    [Description("`name` (its latest version), `name:version` or `name@alias`; the job keeps the version it resolved to when queued.")]
    public string? Model { get; init; }

    [Description("The dataset to predict over (an id, or a name for the newest dataset of that name).")]
    public string? DatasetId { get; init; }

    [Description("Forecasts: the series to forecast, by name (the dataset's series column); default every series.")]
    public IReadOnlyList<string>? Series { get; init; }

    [Description("Forecasts: steps ahead, at most the trained horizon; default the trained horizon.")]
    public int? Horizon { get; init; }
}

/// <summary>How far a prediction job has come: items written, of how many, and the results file's length after them.</summary>
public sealed record PredictionProgress(int Done, int Total, long Bytes, long Rows);
