namespace RnnService.Training.Tasks.Sequences;

/// <summary>The metrics of classes and of numbers, as classification, regression and labelling report them.</summary>
public static class SequenceMetrics
{
    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var value in logits) max = Math.Max(max, value);
        var result = new double[logits.Length];
        double sum = 0;
        for (var i = 0; i < logits.Length; i++) sum += result[i] = Math.Exp(logits[i] - max);
        for (var i = 0; i < result.Length; i++) result[i] /= sum;
        return result;
    }

    /// <summary>
    /// accuracy, macroF1 and logLoss of <paramref name="logits"/> (a row of <paramref name="classes"/> per item) against
    /// <paramref name="truth"/>, and majorityAccuracy: always answering <paramref name="majorityClass"/>. With
    /// <paramref name="standardErrors"/> (items drawn independently, as a classifier's sequences are) and two items or
    /// more, also the standard errors of accuracy (binomial, √(p(1 − p)/n)) and logLoss (the items' spread over √n),
    /// so that a search can tell a better validation score from the noise of the validation set.
    /// </summary>
    public static Dictionary<string, double> Classes(ReadOnlySpan<float> logits, int classes, IReadOnlyList<long> truth, long majorityClass, bool standardErrors = false)
    {
        var n = truth.Count;
        var predicted = new long[n];
        var losses = new double[n];
        for (var i = 0; i < n; i++)
        {
            var probabilities = Softmax(logits.Slice(i * classes, classes));
            predicted[i] = Array.IndexOf(probabilities, probabilities.Max());
            losses[i] = -Math.Log(Math.Max(probabilities[truth[i]], 1e-15));
        }
        var accuracy = Enumerable.Range(0, n).Count(i => predicted[i] == truth[i]) / (double)n;
        var logLoss = losses.Sum() / n;
        var metrics = new Dictionary<string, double>
        {
            ["accuracy"] = accuracy,
            ["macroF1"] = MacroF1(truth, predicted),
            ["logLoss"] = logLoss,
            // The baseline a model must beat: always answering the training part's most common class.
            ["majorityAccuracy"] = truth.Count(t => t == majorityClass) / (double)n,
        };
        if (standardErrors && n >= 2)
        {
            metrics["accuracyStandardError"] = Math.Sqrt(accuracy * (1 - accuracy) / n);
            metrics["logLossStandardError"] = Math.Sqrt(losses.Sum(l => (l - logLoss) * (l - logLoss)) / (n - 1) / n);
        }
        return metrics;
    }

    /// <summary>mae and rmse of values against the truth, in the truth's scale, and meanMae: always answering the training mean.</summary>
    public static Dictionary<string, double> Numbers(IReadOnlyList<double> values, IReadOnlyList<double> truth, IReadOnlyList<double> trainingMean)
    {
        double absolute = 0, squared = 0, meanAbsolute = 0;
        var width = trainingMean.Count;
        for (var i = 0; i < truth.Count; i++)
        {
            var error = Math.Abs(values[i] - truth[i]);
            absolute += error;
            squared += error * error;
            meanAbsolute += Math.Abs(trainingMean[i % width] - truth[i]);
        }
        return new Dictionary<string, double>
        {
            ["mae"] = absolute / truth.Count,
            ["rmse"] = Math.Sqrt(squared / truth.Count),
            // The baseline: always answering the training part's mean.
            ["meanMae"] = meanAbsolute / truth.Count,
        };
    }

    /// <summary>F1 averaged over the classes that occur in the truth or the predictions.</summary>
    public static double MacroF1(IReadOnlyList<long> truth, long[] predicted)
    {
        var classes = truth.Concat(predicted).Distinct().ToArray();
        return classes.Average(c =>
        {
            double tp = 0, fp = 0, fn = 0;
            for (var i = 0; i < truth.Count; i++)
            {
                if (predicted[i] == c && truth[i] == c) tp++;
                else if (predicted[i] == c) fp++;
                else if (truth[i] == c) fn++;
            }
            return tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn);
        });
    }

    /// <summary>The most common value (ties: the smallest).</summary>
    public static long Majority(IEnumerable<long> classes) =>
        classes.GroupBy(c => c).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
}
