using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Torch;

namespace RnnService.Training.Tasks.Forecast;

/// <summary>
/// Forecasting: sliding windows of <c>inputLength</c> steps of the features (with known-future and calendar features,
/// also the horizon's steps of those) predict the next <c>horizon</c> steps of the targets (direct multi-step: one output
/// per step and target, or one per quantile of each), per series. The last steps of every series are
/// held out for validation; a window whose targets straddle the split is used by neither side.
/// </summary>
public sealed class ForecastPipeline : TaskPipeline
{
    private ForecastPreprocessing preprocessing;
    private readonly List<ValidationWindow> windows;
    private readonly double[] naiveScale;
    private IReadOnlyDictionary<int, WindowPlace> evaluated = new Dictionary<int, WindowPlace>();

    /// <summary>
    /// How many windows' worth of steps the validation part holds (its steps over all series ÷ the horizon): the
    /// windows overlap, one step later each, so this, not their count, is how many independent looks they give.
    /// </summary>
    private readonly double independentWindows;

    private ForecastPipeline(ForecastPreprocessing preprocessing, List<ValidationWindow> windows, double[] naiveScale, double independentWindows)
    {
        this.preprocessing = preprocessing;
        this.windows = windows;
        this.naiveScale = naiveScale;
        this.independentWindows = independentWindows;
    }

    public override object Preprocessing => preprocessing;

    public static ForecastPipeline Create(TimeSeriesData data, DatasetSummary summary, TaskOptions task, TrainingOptions training)
    {
        var features = task.Features!.Select(data.ColumnIndex).ToArray();
        var known = (task.KnownFeatures ?? []).Select(data.ColumnIndex).ToArray();
        var targets = task.Targets!.Select(data.ColumnIndex).ToArray();
        int inputLength = task.InputLength!.Value, horizon = task.Horizon!.Value, season = task.Season!.Value;
        var fraction = training.ValidationFraction!.Value;
        var calendar = ForecastPreprocessing.CalendarOf(task, summary);

        // Column statistics of the training part only: standard scaling uses them, window scaling its spread floor.
        IEnumerable<float[]> TrainingRows(int[] columns) => data.Series.SelectMany(series =>
        {
            var end = series.Length - ForecastSplit.HeldOutSteps(series.Length, horizon, fraction);
            return Enumerable.Range(0, end).Select(t => columns.Select(c => (float)series.Values[c][t]).ToArray());
        });
        var scaler = ColumnScaler.Fit(TrainingRows(features), features.Length);
        var knownScaler = known.Length > 0 ? ColumnScaler.Fit(TrainingRows(known), known.Length) : null;
        var quantiles = task.Quantiles is { Count: > 0 } levels ? levels.ToArray() : null;
        var preprocessing = new ForecastPreprocessing(
            task.Scaling!.Value, task.Features!, task.Targets!, inputLength, horizon, season, scaler.Mean, scaler.Std)
        {
            KnownFeatures = known.Length > 0 ? task.KnownFeatures : null,
            KnownMean = knownScaler?.Mean,
            KnownStd = knownScaler?.Std,
            Frequency = calendar.Count > 0 ? summary.Frequency : null,
            Calendar = calendar.Count > 0 ? calendar : null,
            Quantiles = quantiles,
        };

        var train = new List<Example>();
        var validation = new List<Example>();
        var windows = new List<ValidationWindow>();
        var naiveSum = new double[targets.Length];
        var naiveCount = 0L;
        var width = preprocessing.InputWidth;
        var history = new double[inputLength * width];
        var future = new double[horizon * known.Length];
        // Where each validation window is (series, first input step): the evaluation's sample of them is drawn below.
        var places = new List<(int Series, int Start)>();
        long validationSteps = 0;
        for (var s = 0; s < data.Series.Count; s++)
        {
            var series = data.Series[s];
            var n = series.Length;
            var trainEnd = n - ForecastSplit.HeldOutSteps(n, horizon, fraction);
            if (n - trainEnd >= horizon) validationSteps += n - trainEnd;
            for (var t = season; t < trainEnd; t++, naiveCount++)
            {
                for (var k = 0; k < targets.Length; k++)
                    naiveSum[k] += Math.Abs(series.Values[targets[k]][t] - series.Values[targets[k]][t - season]);
            }
            for (var start = 0; start + inputLength + horizon <= n; start++)
            {
                var first = start + inputLength; // first target step
                var isValidation = first >= trainEnd;
                if (!isValidation && first + horizon > trainEnd) continue;
                for (var i = 0; i < inputLength; i++)
                {
                    for (var f = 0; f < features.Length; f++) history[i * width + f] = series.Values[features[f]][start + i];
                    for (var j = 0; j < known.Length; j++) history[i * width + features.Length + j] = series.Values[known[j]][start + i];
                }
                for (var h = 0; h < horizon; h++)
                    for (var j = 0; j < known.Length; j++) future[h * known.Length + j] = series.Values[known[j]][first + h];
                var input = preprocessing.Input(history, inputLength, future, series.Times?[start], out var offset, out var unit);
                var scaledTargets = new float[horizon * targets.Length];
                var actual = new double[scaledTargets.Length];
                var naive = new double[scaledTargets.Length];
                for (var h = 0; h < horizon; h++)
                {
                    // Seasonal naive: the value one (or more) whole seasons before the forecast step.
                    var back = first + h - season * (int)Math.Ceiling((h + 1) / (double)season);
                    for (var k = 0; k < targets.Length; k++)
                    {
                        var i = h * targets.Length + k;
                        var value = series.Values[targets[k]][first + h];
                        scaledTargets[i] = ForecastPreprocessing.ScaleTarget(value, i, offset, unit);
                        actual[i] = value;
                        naive[i] = series.Values[targets[k]][back];
                    }
                }
                var example = new Example(input, null, input.Length / preprocessing.NetworkWidth, scaledTargets, 0);
                if (isValidation)
                {
                    validation.Add(example);
                    windows.Add(new ValidationWindow(actual, naive, offset, unit));
                    places.Add((s, start));
                }
                else train.Add(example);
            }
        }
        if (train.Count == 0 || validation.Count == 0)
            throw new InvalidOperationException($"the split left {train.Count} training and {validation.Count} validation windows");
        var naiveScale = naiveSum.Select(sum => naiveCount > 0 ? sum / naiveCount : 0).ToArray();
        // The windows the version's evaluation shows, with their inputs' target values: a bounded, evenly spaced sample.
        var sampled = ModelEvaluation.Sample(places.Count, ModelEvaluation.MaxWindows).ToDictionary(w => w, w =>
        {
            var (s, start) = places[w];
            var history = Enumerable.Range(0, inputLength).Select(i => targets.Select(c => data.Series[s].Values[c][start + i]).ToArray()).ToArray();
            var time = data.Series[s].Times?[start].UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            return new WindowPlace(data.Series[s].Name, start, time, history);
        });
        return new ForecastPipeline(preprocessing, windows, naiveScale, Math.Max(1, validationSteps / (double)horizon))
        {
            evaluated = sampled,
            Train = train, Validation = validation, FeatureCount = preprocessing.NetworkWidth,
            OutputSize = horizon * targets.Length * preprocessing.OutputsPerValue,
            // A point forecast is the median, trained with the pinball loss at 0.5 (half the absolute error): in the
            // rolling-origin backtest it forecast better than one trained with the squared error.
            Loss = LossKind.Quantile, Quantiles = quantiles ?? [0.5],
            HeadStart = preprocessing.Scaling != ScalingKind.Seasonal ? null
                : quantiles is not null ? IntervalOffsets(train, horizon * targets.Length, quantiles)
                : new float[horizon * targets.Length],
        };
    }

    /// <summary>
    /// For a quantile model, each level's starting offset from the seasonal forecast, for each forecast value: the
    /// training targets' empirical quantile at that level less their median, so that the untrained model answers the
    /// seasonal forecast with its own historical errors as intervals. (Starting a point forecast at the targets' mean
    /// offset, a drift, did worse in the rolling-origin backtest: its point forecasts start at zero offset.)
    /// </summary>
    private static float[] IntervalOffsets(List<Example> train, int values, double[] levels)
    {
        var bias = new float[values * levels.Length];
        var column = new float[train.Count];
        for (var j = 0; j < values; j++)
        {
            for (var e = 0; e < train.Count; e++) column[e] = train[e].Targets![j];
            Array.Sort(column);
            var median = SortedQuantile.Of(column, 0.5);
            for (var q = 0; q < levels.Length; q++) bias[j * levels.Length + q] = (float)(SortedQuantile.Of(column, levels[q]) - median);
        }
        return bias;
    }

    /// <summary>The central intervals that the levels bound: each lower level's index with that of its 1 − q.</summary>
    private static IEnumerable<(int Lower, int Upper)> CentralIntervals(double[] levels)
    {
        for (var lower = 0; lower < levels.Length; lower++)
        {
            var upper = Array.FindIndex(levels, level => Math.Abs(level - (1 - levels[lower])) < 1e-9);
            if (upper > lower) yield return (lower, upper);
        }
    }

    public override bool CalibratesOnValidation => preprocessing.Quantiles is { Length: > 1 };

    /// <summary>
    /// Conformalised quantile regression (Romano, Patterson and Candès, 2019) on the validation windows: for each central
    /// interval (levels q and 1 − q), each validation value's score is how far it lies outside the interval (negative
    /// inside), in the head's scaled units; the interval is widened at both ends by the score whose rank is
    /// ⌈(n + 1)·coverage⌉ among the n (narrowed, when that score is negative), so that it covers its share of them.
    /// </summary>
    public override void Calibrate(float[] outputs)
    {
        var levels = preprocessing.Quantiles!;
        var count = levels.Length;
        var values = OutputSize / count;
        var shifts = new double[count];
        var sorted = new float[count];
        foreach (var (lower, upper) in CentralIntervals(levels))
        {
            var scores = new List<double>(windows.Count * values);
            for (var w = 0; w < windows.Count; w++)
            {
                for (var i = 0; i < values; i++)
                {
                    outputs.AsSpan(w * OutputSize + i * count, count).CopyTo(sorted);
                    Array.Sort(sorted);
                    var actual = (windows[w].Actual[i] - windows[w].Offset[i]) / windows[w].Unit[i];
                    scores.Add(Math.Max(sorted[lower] - actual, actual - sorted[upper]));
                }
            }
            scores.Sort();
            var rank = (int)Math.Ceiling((scores.Count + 1) * (levels[upper] - levels[lower]));
            var widening = scores[Math.Clamp(rank, 1, scores.Count) - 1];
            shifts[lower] = -widening;
            shifts[upper] = widening;
        }
        preprocessing = preprocessing with { QuantileShifts = shifts };
    }

    public override IReadOnlyDictionary<string, double> Metrics(float[] outputs)
    {
        var forecasts = new List<double[]>(windows.Count);
        var quantileForecasts = new List<double[][]>(windows.Count);
        for (var w = 0; w < windows.Count; w++)
        {
            var window = windows[w];
            forecasts.Add(preprocessing.Output(outputs.AsSpan(w * OutputSize, OutputSize), window.Offset, window.Unit, out var quantiles));
            if (quantiles is not null) quantileForecasts.Add(quantiles);
        }
        var metrics = new Dictionary<string, double>();
        AddErrors(metrics, "", forecasts);
        if (preprocessing.Quantiles is { } levels) AddQuantileErrors(metrics, levels, quantileForecasts);
        AddErrors(metrics, "naive", windows.Select(window => window.Naive).ToList());
        return metrics;
    }

    /// <summary>
    /// Of quantile forecasts: <c>wql</c>, the mean weighted quantile loss over the levels (each level's pinball loss summed
    /// over the values, doubled, over the sum of the actual values' magnitudes, as GluonTS and DeepAR report it), and for
    /// each central interval that two levels bound (0.1 and 0.9: the 80% interval), the share of actual values inside it
    /// (<c>coverage80</c>).
    /// </summary>
    private void AddQuantileErrors(Dictionary<string, double> metrics, double[] levels, List<double[][]> forecasts)
    {
        var magnitude = windows.Sum(window => window.Actual.Sum(Math.Abs));
        var losses = new double[levels.Length];
        for (var q = 0; q < levels.Length; q++)
        {
            for (var w = 0; w < windows.Count; w++)
            {
                for (var i = 0; i < OutputSize / levels.Length; i++)
                {
                    var difference = windows[w].Actual[i] - forecasts[w][q][i];
                    losses[q] += Math.Max(levels[q] * difference, (levels[q] - 1) * difference);
                }
            }
        }
        Put(metrics, "", "wql", losses.Select(loss => 2 * loss / magnitude).Average());
        foreach (var (lower, upper) in CentralIntervals(levels))
        {
            long inside = 0, count = 0;
            for (var w = 0; w < windows.Count; w++)
            {
                for (var i = 0; i < windows[w].Actual.Length; i++, count++)
                {
                    var actual = windows[w].Actual[i];
                    if (actual >= forecasts[w][lower][i] && actual <= forecasts[w][upper][i]) inside++;
                }
            }
            var percent = Math.Round(100 * (levels[upper] - levels[lower]), 6);
            metrics["coverage" + percent.ToString(System.Globalization.CultureInfo.InvariantCulture).Replace('.', '_')] = (double)inside / count;
        }
    }

    /// <summary>
    /// MAE, RMSE, sMAPE (percent) and MASE of forecasts against the validation windows, in the data's own scale. Of the
    /// model's own (no prefix), also the standard errors of MAE, sMAPE and MASE (<c>maseStandardError</c>, ...): the
    /// spread of the metric between windows over the root of <see cref="independentWindows"/>, so that a search can
    /// tell a better validation score from the noise of a few dozen validation steps; absent when the validation part is
    /// shorter than two horizons, as its windows' spread is then no estimate of the metric's.
    /// </summary>
    private void AddErrors(Dictionary<string, double> metrics, string prefix, List<double[]> forecasts)
    {
        var targets = preprocessing.Targets.Count;
        double absolute = 0, squared = 0, symmetric = 0;
        var perTarget = new double[targets];
        long count = 0;
        var scaled = Enumerable.Range(0, targets).Where(k => naiveScale[k] > 0).ToArray();
        // Each window's own MAE, sMAPE and MASE: the whole part's are their means (every window has as many values).
        var perWindow = new double[3][];
        for (var m = 0; m < perWindow.Length; m++) perWindow[m] = new double[windows.Count];
        var windowTarget = new double[targets];
        for (var w = 0; w < windows.Count; w++)
        {
            Array.Clear(windowTarget);
            double windowAbsolute = 0, windowSymmetric = 0;
            var values = windows[w].Actual.Length;
            for (var i = 0; i < values; i++)
            {
                double actual = windows[w].Actual[i], forecast = forecasts[w][i], error = Math.Abs(actual - forecast);
                absolute += error;
                squared += error * error;
                var denominator = Math.Abs(actual) + Math.Abs(forecast);
                var share = denominator > 0 ? 2 * error / denominator : 0;
                symmetric += share;
                perTarget[i % targets] += error;
                windowTarget[i % targets] += error;
                windowAbsolute += error;
                windowSymmetric += share;
                count++;
            }
            perWindow[0][w] = windowAbsolute / values;
            perWindow[1][w] = 100 * windowSymmetric / values;
            perWindow[2][w] = scaled.Length > 0 ? scaled.Average(k => windowTarget[k] / (values / targets) / naiveScale[k]) : 0;
        }
        Put(metrics, prefix, "mae", absolute / count);
        Put(metrics, prefix, "rmse", Math.Sqrt(squared / count));
        Put(metrics, prefix, "smape", 100 * symmetric / count);
        // MASE: each target's MAE over the in-sample MAE of the seasonal naive forecast on the training part, averaged.
        if (scaled.Length > 0) Put(metrics, prefix, "mase", scaled.Select(k => perTarget[k] / (count / targets) / naiveScale[k]).Average());
        if (prefix.Length > 0 || independentWindows < 2) return;
        string[] names = ["mae", "smape", "mase"];
        for (var m = 0; m < names.Length; m++)
        {
            if (m == 2 && scaled.Length == 0) continue;
            Put(metrics, "", names[m] + "StandardError", StandardDeviation(perWindow[m]) / Math.Sqrt(independentWindows));
        }
    }

    private static double StandardDeviation(double[] values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }

    public override ModelEvaluation Evaluate(float[] outputs)
    {
        var targets = preprocessing.Targets.Count;
        double[][] Steps(double[] values) => values.Chunk(targets).ToArray();
        var shown = evaluated.OrderBy(pair => pair.Key).Select(pair =>
        {
            var window = windows[pair.Key];
            var forecast = preprocessing.Output(outputs.AsSpan(pair.Key * OutputSize, OutputSize), window.Offset, window.Unit, out var quantiles);
            var bands = quantiles is null || preprocessing.Quantiles is not { } levels ? null
                : levels.Select((level, q) => (level, q)).ToDictionary(
                    pair => pair.level.ToString(System.Globalization.CultureInfo.InvariantCulture), pair => Steps(quantiles[pair.q]));
            return new EvaluatedWindow(pair.Value.Series, pair.Value.Start, pair.Value.Time, pair.Value.History, Steps(window.Actual), Steps(forecast), bands);
        }).ToArray();
        return new ModelEvaluation
        {
            Kind = "forecast", Count = windows.Count, Targets = preprocessing.Targets, Quantiles = preprocessing.Quantiles, Windows = shown,
        };
    }

    private static void Put(Dictionary<string, double> metrics, string prefix, string name, double value)
    {
        if (double.IsFinite(value)) metrics[prefix.Length == 0 ? name : prefix + char.ToUpperInvariant(name[0]) + name[1..]] = value;
    }

    private sealed record ValidationWindow(double[] Actual, double[] Naive, double[] Offset, double[] Unit);

    private sealed record WindowPlace(string Series, int Start, string? Time, double[][] History);
}
