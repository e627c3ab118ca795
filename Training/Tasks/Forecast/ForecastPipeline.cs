using RnnService.Domain.Jobs;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Torch;

namespace RnnService.Training.Tasks.Forecast;

/// <summary>
/// Forecasting: sliding windows of <c>inputLength</c> steps of the features predict the next <c>horizon</c> steps of
/// the targets (direct multi-step: one output per step and target), per series. The last steps of every series are
/// held out for validation; a window whose targets straddle the split is used by neither side.
/// </summary>
public sealed class ForecastPipeline : TaskPipeline
{
    private readonly ForecastPreprocessing preprocessing;
    private readonly List<ValidationWindow> windows;
    private readonly double[] naiveScale;

    private ForecastPipeline(ForecastPreprocessing preprocessing, List<ValidationWindow> windows, double[] naiveScale)
    {
        this.preprocessing = preprocessing;
        this.windows = windows;
        this.naiveScale = naiveScale;
    }

    public override object Preprocessing => preprocessing;

    public static ForecastPipeline Create(TimeSeriesData data, TaskOptions task, TrainingOptions training)
    {
        var features = task.Features!.Select(data.ColumnIndex).ToArray();
        var targets = task.Targets!.Select(data.ColumnIndex).ToArray();
        int inputLength = task.InputLength!.Value, horizon = task.Horizon!.Value, season = task.Season!.Value;
        var fraction = training.ValidationFraction!.Value;

        // Column statistics of the training part only: standard scaling uses them, window scaling its spread floor.
        var trainingRows = data.Series.SelectMany(series =>
        {
            var end = series.Length - Domain.Jobs.ForecastSplit.HeldOutSteps(series.Length, horizon, fraction);
            return Enumerable.Range(0, end).Select(t => features.Select(c => (float)series.Values[c][t]).ToArray());
        });
        var scaler = ColumnScaler.Fit(trainingRows, features.Length);
        var preprocessing = new ForecastPreprocessing(
            task.Scaling!.Value, task.Features!, task.Targets!, inputLength, horizon, season, scaler.Mean, scaler.Std);

        var train = new List<Example>();
        var validation = new List<Example>();
        var windows = new List<ValidationWindow>();
        var naiveSum = new double[targets.Length];
        var naiveCount = 0L;
        var window = new double[inputLength * features.Length];
        foreach (var series in data.Series)
        {
            var n = series.Length;
            var trainEnd = n - Domain.Jobs.ForecastSplit.HeldOutSteps(n, horizon, fraction);
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
                    for (var f = 0; f < features.Length; f++)
                        window[i * features.Length + f] = series.Values[features[f]][start + i];
                var input = preprocessing.ScaleInput(window, out var level, out var spread);
                var scaledTargets = new float[horizon * targets.Length];
                var actual = new double[scaledTargets.Length];
                var naive = new double[scaledTargets.Length];
                for (var h = 0; h < horizon; h++)
                {
                    // Seasonal naive: the value one (or more) whole seasons before the forecast step.
                    var back = first + h - season * (int)Math.Ceiling((h + 1) / (double)season);
                    for (var k = 0; k < targets.Length; k++)
                    {
                        var value = series.Values[targets[k]][first + h];
                        scaledTargets[h * targets.Length + k] = preprocessing.ScaleTarget(value, k, level, spread);
                        actual[h * targets.Length + k] = value;
                        naive[h * targets.Length + k] = series.Values[targets[k]][back];
                    }
                }
                var example = new Example(input, null, inputLength, scaledTargets, 0);
                if (isValidation)
                {
                    validation.Add(example);
                    windows.Add(new ValidationWindow(actual, naive, level, spread));
                }
                else train.Add(example);
            }
        }
        if (train.Count == 0 || validation.Count == 0)
            throw new InvalidOperationException($"the split left {train.Count} training and {validation.Count} validation windows");
        var naiveScale = naiveSum.Select(sum => naiveCount > 0 ? sum / naiveCount : 0).ToArray();
        return new ForecastPipeline(preprocessing, windows, naiveScale)
        {
            Train = train, Validation = validation, FeatureCount = features.Length,
            OutputSize = horizon * targets.Length, Loss = LossKind.Mse,
        };
    }

    public override IReadOnlyDictionary<string, double> Metrics(float[] outputs)
    {
        var targets = preprocessing.Targets.Count;
        var forecasts = new List<double[]>(windows.Count);
        for (var w = 0; w < windows.Count; w++)
        {
            var window = windows[w];
            var forecast = new double[OutputSize];
            for (var i = 0; i < OutputSize; i++)
                forecast[i] = preprocessing.Unscale(outputs[w * OutputSize + i], i % targets, window.Level, window.Spread);
            forecasts.Add(forecast);
        }
        var metrics = new Dictionary<string, double>();
        AddErrors(metrics, "", forecasts);
        AddErrors(metrics, "naive", windows.Select(window => window.Naive).ToList());
        return metrics;
    }

    /// <summary>MAE, RMSE, sMAPE (percent) and MASE of forecasts against the validation windows, in the data's own scale.</summary>
    private void AddErrors(Dictionary<string, double> metrics, string prefix, List<double[]> forecasts)
    {
        var targets = preprocessing.Targets.Count;
        double absolute = 0, squared = 0, symmetric = 0;
        var perTarget = new double[targets];
        long count = 0;
        for (var w = 0; w < windows.Count; w++)
        {
            for (var i = 0; i < OutputSize; i++)
            {
                double actual = windows[w].Actual[i], forecast = forecasts[w][i], error = Math.Abs(actual - forecast);
                absolute += error;
                squared += error * error;
                var denominator = Math.Abs(actual) + Math.Abs(forecast);
                symmetric += denominator > 0 ? 2 * error / denominator : 0;
                perTarget[i % targets] += error;
                count++;
            }
        }
        Put(metrics, prefix, "mae", absolute / count);
        Put(metrics, prefix, "rmse", Math.Sqrt(squared / count));
        Put(metrics, prefix, "smape", 100 * symmetric / count);
        // MASE: each target's MAE over the in-sample MAE of the seasonal naive forecast on the training part, averaged.
        var scaled = Enumerable.Range(0, targets).Where(k => naiveScale[k] > 0)
            .Select(k => perTarget[k] / (count / targets) / naiveScale[k]).ToArray();
        if (scaled.Length > 0) Put(metrics, prefix, "mase", scaled.Average());
    }

    private static void Put(Dictionary<string, double> metrics, string prefix, string name, double value)
    {
        if (double.IsFinite(value)) metrics[prefix.Length == 0 ? name : prefix + char.ToUpperInvariant(name[0]) + name[1..]] = value;
    }

    private sealed record ValidationWindow(double[] Actual, double[] Naive, double[] Level, double[] Spread);
}
