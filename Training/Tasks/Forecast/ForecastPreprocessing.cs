using RnnService.Domain.Jobs;

namespace RnnService.Training.Tasks.Forecast;

/// <summary>
/// How a forecast model's inputs are scaled and its outputs mapped back; kept with the model version.
/// <c>window</c>: each input window is shifted by its own last value and divided by its own spread (per feature), and
/// the outputs are mapped back with the same numbers, so a model learns shapes rather than levels and trending series
/// stay in range. <c>standard</c>: fixed mean and deviation per column from the training part. <c>none</c>: raw values.
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

    /// <summary>
    /// Scales one window (<c>steps × features</c>, flat) and returns each feature's level and spread, which
    /// <see cref="ScaleTarget"/> and <see cref="Unscale"/> use.
    /// </summary>
    public float[] ScaleInput(ReadOnlySpan<double> window, out double[] level, out double[] spread)
    {
        var width = Features.Count;
        var steps = window.Length / width;
        level = new double[width];
        spread = new double[width];
        for (var f = 0; f < width; f++)
        {
            switch (Scaling)
            {
                case ScalingKind.Window:
                    double sum = 0, squares = 0;
                    for (var t = 0; t < steps; t++)
                    {
                        var value = window[t * width + f];
                        sum += value;
                        squares += value * value;
                    }
                    var mean = sum / steps;
                    var deviation = Math.Sqrt(Math.Max(0, squares / steps - mean * mean));
                    level[f] = window[(steps - 1) * width + f];
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
        var scaled = new float[window.Length];
        for (var i = 0; i < window.Length; i++) scaled[i] = (float)((window[i] - level[i % width]) / spread[i % width]);
        return scaled;
    }

    public float ScaleTarget(double value, int target, double[] level, double[] spread)
    {
        var feature = targetFeatures[target];
        return (float)((value - level[feature]) / spread[feature]);
    }

    public double Unscale(float value, int target, double[] level, double[] spread)
    {
        var feature = targetFeatures[target];
        return value * spread[feature] + level[feature];
    }
}
