using System.Globalization;
using RnnService.Domain.Models;
using RnnService.Domain.Predictions;
using RnnService.Domain.Validation;
using RnnService.Training.Data;

namespace RnnService.Training.Tasks.Forecast;

/// <summary>
/// A forecast model's serving: each input window (with the known features' future and the calendar of its steps, when
/// the model reads them) made as in training, the outputs mapped back to the data's scale, quantiles kept in order.
/// </summary>
public sealed class ForecastServing(ModelSpec spec, ForecastPreprocessing preprocessing) : ServedTask(spec)
{
    protected override string TaskName => "forecast";

    /// <summary>What the model reads and answers: its features, targets, window, horizon, quantiles and calendar.</summary>
    public ForecastPreprocessing Preprocessing => preprocessing;

    /// <summary>The key of a quantile level in an answer's <c>quantiles</c> ("0.1").</summary>
    public static string QuantileKey(double level) => level.ToString(CultureInfo.InvariantCulture);

    protected override int InputWidth => preprocessing.InputWidth;

    protected override string FeatureNames =>
        $" ({string.Join(", ", preprocessing.Features.Concat(preprocessing.KnownFeatures ?? []))})";

    protected override void CheckOptions(PredictRequest request, List<ValidationError> errors)
    {
        if (request.Horizon is { } horizon && horizon > preprocessing.Horizon)
            errors.Add(new("horizon", $"is {horizon}, but the model was trained for at most {preprocessing.Horizon} steps."));
        var count = request.Inputs?.Count ?? 0;
        if (preprocessing.KnownCount > 0)
        {
            if (request.Future is not { } future)
                errors.Add(new("future", $"is required: this model reads the known future of {Known} over its {preprocessing.Horizon}-step horizon, " +
                                         "a list parallel to inputs."));
            else if (future.Count != count)
                errors.Add(new("future", $"holds {future.Count} lists, but inputs holds {count} sequences; give each input its future."));
            else errors.AddRange(future.Problems);
        }
        else if (request.Future is not null)
            errors.Add(new("future", "this model reads no known-future features; leave future out."));
        if (preprocessing.CalendarWidth > 0)
        {
            if (request.Starts is not { } starts)
                errors.Add(new("starts", $"is required: this model reads calendar features ({string.Join(", ", preprocessing.Calendar!)}); " +
                                         "give the time of each input's first step, a list parallel to inputs."));
            else if (starts.Count != count)
                errors.Add(new("starts", $"holds {starts.Count} times, but inputs holds {count} sequences."));
        }
        else if (request.Starts is not null)
            errors.Add(new("starts", "this model reads no calendar features; leave starts out."));
    }

    private string Known => string.Join(", ", preprocessing.KnownFeatures ?? []);

    protected override PreparedSequence PrepareFeatures(InputSequence input, int index, PredictRequest request, List<ValidationError> errors)
    {
        var future = ReadOnlySpan<double>.Empty;
        if (preprocessing.KnownCount > 0)
        {
            // CheckOptions has reported a missing or miscounted future.
            if (request.Future is not { } all || all.Count != request.Inputs!.Count) return default;
            var given = all[index];
            if (given.Steps != preprocessing.Horizon || given.Width != preprocessing.KnownCount)
            {
                Add(errors, $"future[{index}]",
                    $"has {given.Steps} steps of {given.Width} values; the model reads {preprocessing.Horizon} steps (its horizon) " +
                    $"of {preprocessing.KnownCount} ({Known}).");
                return default;
            }
            var values = new double[given.Values.Length];
            for (var v = 0; v < values.Length; v++) values[v] = given.Values[v];
            future = values;
        }
        DateTimeOffset? start = null;
        if (preprocessing.CalendarWidth > 0)
        {
            if (request.Starts is not { } starts || starts.Count != request.Inputs!.Count) return default;
            if (starts[index] is not { } text || !TimeFrequency.TryParse(text, out var time))
            {
                Add(errors, $"starts[{index}]", $"'{starts[index]}' is not a time: use ISO 8601 (2024-03-01, 2024-03-01T13:00:00Z) or year-month (2024-03).");
                return default;
            }
            start = time;
        }
        var history = new double[input.Values.Length];
        for (var v = 0; v < history.Length; v++) history[v] = input.Values[v];
        var scaled = preprocessing.Input(history, input.Steps, future, start, out var offset, out var unit);
        return new PreparedSequence(scaled, null, scaled.Length / preprocessing.NetworkWidth, offset, unit);
    }

    public override PredictOutput Output(ReadOnlySpan<float> output, in PreparedSequence prepared, PredictRequest request)
    {
        var targets = preprocessing.Targets.Count;
        var steps = request.Horizon ?? preprocessing.Horizon;
        var values = preprocessing.Output(output, prepared.Level!, prepared.Spread!, out var quantiles);
        return new PredictOutput
        {
            Forecast = Rows(values, steps, targets),
            Quantiles = quantiles?.Select((levelValues, q) => (Level: preprocessing.Quantiles![q], Rows: Rows(levelValues, steps, targets)))
                .ToDictionary(entry => QuantileKey(entry.Level), entry => entry.Rows),
        };
    }

    private static double[][] Rows(double[] values, int steps, int targets)
    {
        var rows = new double[steps][];
        for (var h = 0; h < steps; h++) rows[h] = values.AsSpan(h * targets, targets).ToArray();
        return rows;
    }
}
