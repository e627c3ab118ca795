using System.Text.Json.Serialization;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Training.Data;

namespace RnnService.Training.Tasks.Forecast;

/// <summary>
/// How a forecast model's inputs are made and its outputs mapped back; kept with the model version.
/// <para>
/// Scaling of the features: <c>window</c>: each input window is shifted by its own last value and divided by its own
/// spread (per feature), and the outputs are mapped back with the same numbers, so a model learns shapes rather than
/// levels and trending series stay in range. <c>seasonal</c>: the same, but each forecast step is measured from a
/// seasonal forecast (the window's seasons averaged, as ratios to their means for positive series, at the last season's
/// level: with one season in the window, the value one season earlier), so that a model that has learnt nothing repeats
/// the last season and what it learns is the change. An input shorter than a season is measured from its last value. <c>standard</c>: fixed mean and deviation per column from the training
/// part. <c>none</c>: raw values.
/// </para>
/// <para>
/// Known-future columns (standardised with the training part's mean and deviation) and calendar features (one-hot, from
/// the step's time) are read at every step of the window and then over the horizon: the network reads
/// <c>inputLength + horizon</c> steps, each <c>features, known, calendar, isFuture</c>, where the horizon's steps have
/// zeros for the features and 1 for isFuture. Without either, it reads the window alone, <c>features</c> wide.
/// </para>
/// <para>
/// Outputs: one for each horizon step and target (<c>h * targets + k</c>), or with quantiles, <c>Quantiles.Length</c>
/// for each of those (<c>(h * targets + k) * quantiles + q</c>).
/// </para>
/// </summary>
public sealed record ForecastPreprocessing(
    ScalingKind Scaling,
    IReadOnlyList<string> Features,
    IReadOnlyList<string> Targets,
    int InputLength,
    int Horizon,
    int Season,
    double[] Mean,
    double[] Std)
{
    /// <summary>
    /// For each target, its position among the features (targets are always features); derived, not stored. Read JSON
    /// may lack either list, which the importer then reports, so a missing one counts as empty here.
    /// </summary>
    private readonly int[] targetFeatures = (Targets ?? []).Select(target => (Features ?? []).ToList().IndexOf(target)).ToArray();

    /// <summary>Columns whose future values are known when forecasting; absent when there are none.</summary>
    public IReadOnlyList<string>? KnownFeatures { get; init; }

    /// <summary>The known columns' means and deviations over the training part.</summary>
    public double[]? KnownMean { get; init; }

    public double[]? KnownStd { get; init; }

    /// <summary>The steps' frequency (<see cref="TimeFrequency"/>), when calendar features are read.</summary>
    public string? Frequency { get; init; }

    /// <summary>The calendar features read (<see cref="CalendarFeatures"/>); absent when none are.</summary>
    public IReadOnlyList<string>? Calendar { get; init; }

    /// <summary>The quantile levels predicted, ascending, 0.5 among them; absent for a point forecast.</summary>
    public double[]? Quantiles { get; init; }

    /// <summary>
    /// For each quantile level, what is added to the head's output (in its scaled units) before the quantiles are sorted
    /// and mapped back: the conformal widening (or narrowing) of each central interval that the validation windows
    /// called for; absent when there was none.
    /// </summary>
    public double[]? QuantileShifts { get; init; }

    [JsonIgnore]
    public int KnownCount => KnownFeatures?.Count ?? 0;

    [JsonIgnore]
    public int CalendarWidth => CalendarFeatures.Width(Calendar ?? []);

    /// <summary>Whether the network reads the horizon's steps after the window (for known or calendar features).</summary>
    [JsonIgnore]
    public bool ReadsFuture => KnownCount + CalendarWidth > 0;

    /// <summary>Features of one step as the network reads it.</summary>
    [JsonIgnore]
    public int NetworkWidth => (Features?.Count ?? 0) + KnownCount + CalendarWidth + (ReadsFuture ? 1 : 0);

    /// <summary>Head outputs for each forecast value: one, or one per quantile.</summary>
    [JsonIgnore]
    public int OutputsPerValue => Math.Max(1, Quantiles?.Length ?? 0);

    /// <summary>Values steps of the request's input carry: the features and the known columns' past.</summary>
    [JsonIgnore]
    public int InputWidth => (Features?.Count ?? 0) + KnownCount;

    /// <summary>
    /// The network's input for one window: <paramref name="history"/>, <c>steps × (features + known)</c> raw values, flat
    /// (the known columns' past after the features), <paramref name="future"/> the known columns over the horizon
    /// (<c>horizon × known</c>), and <paramref name="start"/> the first step's time (for calendar features). Returns what
    /// each output is measured from (<paramref name="offset"/>) and in (<paramref name="unit"/>), a value per
    /// horizon step and target.
    /// </summary>
    public float[] Input(ReadOnlySpan<double> history, int steps, ReadOnlySpan<double> future, DateTimeOffset? start,
        out double[] offset, out double[] unit)
    {
        var features = Features.Count;
        var width = InputWidth;
        var network = NetworkWidth;
        var rows = steps + (ReadsFuture ? Horizon : 0);
        var input = new float[rows * network];

        var level = new double[features];
        var spread = new double[features];
        for (var f = 0; f < features; f++)
        {
            switch (Scaling)
            {
                case ScalingKind.Window or ScalingKind.Seasonal:
                    double sum = 0, squares = 0;
                    for (var t = 0; t < steps; t++)
                    {
                        var value = history[t * width + f];
                        sum += value;
                        squares += value * value;
                    }
                    var mean = sum / steps;
                    var deviation = Math.Sqrt(Math.Max(0, squares / steps - mean * mean));
                    level[f] = history[(steps - 1) * width + f];
                    // A flat window must not blow up: its spread is at least a hundredth of the column's own.
                    spread[f] = Math.Max(deviation, 0.01 * Std[f]);
                    break;
                case ScalingKind.Standard:
                    level[f] = Mean[f];
                    spread[f] = Std[f];
                    break;
                default:
                    level[f] = 0;
                    spread[f] = 1;
                    break;
            }
        }

        for (var t = 0; t < rows; t++)
        {
            var row = input.AsSpan(t * network, network);
            var past = t < steps;
            if (past)
            {
                for (var f = 0; f < features; f++) row[f] = (float)((history[t * width + f] - level[f]) / spread[f]);
            }
            for (var j = 0; j < KnownCount; j++)
            {
                var value = past ? history[t * width + features + j] : future[(t - steps) * KnownCount + j];
                row[features + j] = (float)((value - KnownMean![j]) / KnownStd![j]);
            }
            if (CalendarWidth > 0)
                CalendarFeatures.Write(TimeFrequency.Add(start!.Value, Frequency!, t), Calendar!, row.Slice(features + KnownCount, CalendarWidth));
            if (ReadsFuture && !past) row[network - 1] = 1;
        }

        var targets = Targets.Count;
        offset = new double[Horizon * targets];
        unit = new double[offset.Length];
        for (var k = 0; k < targets; k++)
        {
            var f = targetFeatures[k];
            var profile = Scaling == ScalingKind.Seasonal && steps >= Season ? SeasonalProfile(history, steps, width, f) : null;
            for (var h = 0; h < Horizon; h++)
            {
                offset[h * targets + k] = profile is not null ? profile[h % Season] : level[f];
                unit[h * targets + k] = spread[f];
            }
        }
        return input;
    }

    /// <summary>
    /// The seasonal forecast a seasonal model is measured from, for each position in the season after the window: the
    /// window's whole seasons (counted back from its end), each relative to its own mean, averaged at each position and
    /// put on the last season's mean. Relative means as ratios when every value is positive (seasons that grow with the
    /// level, as sales and passengers do), as differences otherwise. With one season in the window, either is the
    /// seasonal-naive forecast; with more, its shape is less noisy.
    /// </summary>
    private double[] SeasonalProfile(ReadOnlySpan<double> history, int steps, int width, int feature)
    {
        var cycles = steps / Season;
        var first = steps - cycles * Season;
        var positive = true;
        for (var t = first; t < steps && positive; t++) positive = history[t * width + feature] > 0;
        var profile = new double[Season];
        double lastLevel = 0;
        for (var c = 0; c < cycles; c++)
        {
            var start = steps - (c + 1) * Season;
            double level = 0;
            for (var p = 0; p < Season; p++) level += history[(start + p) * width + feature];
            level /= Season;
            if (c == 0) lastLevel = level;
            for (var p = 0; p < Season; p++)
            {
                var value = history[(start + p) * width + feature];
                profile[p] += (positive ? value / level : value - level) / cycles;
            }
        }
        for (var p = 0; p < Season; p++) profile[p] = positive ? profile[p] * lastLevel : profile[p] + lastLevel;
        return profile;
    }

    /// <summary>
    /// The forecast values (<c>horizon × targets</c>, flat) and, with quantiles, each quantile's (ascending levels, and
    /// sorted at every step so that they never cross), in the data's own scale.
    /// </summary>
    public double[] Output(ReadOnlySpan<float> outputs, double[] offset, double[] unit, out double[][]? quantiles)
    {
        var values = offset.Length;
        var forecast = new double[values];
        var count = Quantiles?.Length ?? 0;
        if (count == 0)
        {
            quantiles = null;
            for (var i = 0; i < values; i++) forecast[i] = outputs[i] * unit[i] + offset[i];
            return forecast;
        }
        quantiles = new double[count][];
        for (var q = 0; q < count; q++) quantiles[q] = new double[values];
        var median = Array.IndexOf(Quantiles!, 0.5);
        Span<float> sorted = stackalloc float[count];
        for (var i = 0; i < values; i++)
        {
            outputs.Slice(i * count, count).CopyTo(sorted);
            if (QuantileShifts is { } shifts)
            {
                sorted.Sort();
                for (var q = 0; q < count; q++) sorted[q] += (float)shifts[q];
            }
            sorted.Sort();
            for (var q = 0; q < count; q++) quantiles[q][i] = sorted[q] * unit[i] + offset[i];
            forecast[i] = quantiles[median][i];
        }
        return forecast;
    }

    /// <summary>A target value measured as output <paramref name="index"/> of a window measures it.</summary>
    public static float ScaleTarget(double value, int index, double[] offset, double[] unit) => (float)((value - offset[index]) / unit[index]);

    /// <summary>The calendar features a task reads on a dataset: those of its frequency unless turned off.</summary>
    public static IReadOnlyList<string> CalendarOf(TaskOptions task, DatasetSummary dataset) =>
        task.CalendarFeatures == CalendarChoice.None ? [] : CalendarFeatures.For(dataset.Frequency);
}
