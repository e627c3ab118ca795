using System.Globalization;

namespace RnnService.Training.Pipeline;

/// <summary>
/// What the kept model did on its validation split, as a version keeps it for people to look at (the console draws it):
/// a confusion matrix of classes, actual against predicted numbers, or forecasts against the actual values of the
/// validation windows with their quantile bands. Bounded: <see cref="MaxClasses"/> classes, <see cref="MaxPoints"/>
/// points, <see cref="MaxWindows"/> windows, whatever the validation split's size.
/// </summary>
public sealed record ModelEvaluation
{
    public const int MaxClasses = 100;
    public const int MaxPoints = 2000;
    public const int MaxWindows = 60;

    /// <summary><c>classes</c>, <c>numbers</c> or <c>forecast</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>Validation examples (steps, for labelling) the evaluation is over; for forecasts, validation windows.</summary>
    public required long Count { get; init; }

    /// <summary>Classes: the labels in output order.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Classes: <c>confusion[actual][predicted]</c> counts.</summary>
    public long[][]? Confusion { get; init; }

    /// <summary>Numbers: <c>[actual, predicted]</c> pairs of the first target, evenly sampled when there are more.</summary>
    public double[][]? Points { get; init; }

    /// <summary>Forecasts: the target columns, in the order of each step's values.</summary>
    public IReadOnlyList<string>? Targets { get; init; }

    /// <summary>Forecasts: the quantile levels of <see cref="EvaluatedWindow.Quantiles"/>, when the model has them.</summary>
    public double[]? Quantiles { get; init; }

    /// <summary>Forecasts: validation windows, evenly sampled when there are more, in series and time order.</summary>
    public IReadOnlyList<EvaluatedWindow>? Windows { get; init; }

    /// <summary>The confusion matrix of predicted classes (argmax of each row of logits) against the truth; null past <see cref="MaxClasses"/>.</summary>
    public static ModelEvaluation Classes(ReadOnlySpan<float> logits, int classes, IReadOnlyList<long> truth, IReadOnlyList<double> labels)
    {
        long[][]? confusion = null;
        if (classes <= MaxClasses)
        {
            confusion = Enumerable.Range(0, classes).Select(_ => new long[classes]).ToArray();
            for (var i = 0; i < truth.Count; i++)
            {
                var row = logits.Slice(i * classes, classes);
                var predicted = 0;
                for (var c = 1; c < classes; c++) if (row[c] > row[predicted]) predicted = c;
                confusion[truth[i]][predicted]++;
            }
        }
        return new ModelEvaluation
        {
            Kind = "classes", Count = truth.Count, Confusion = confusion,
            Labels = labels.Take(MaxClasses).Select(label => label.ToString(CultureInfo.InvariantCulture)).ToArray(),
        };
    }

    /// <summary>Actual against predicted values of the first of <paramref name="width"/> targets.</summary>
    public static ModelEvaluation Numbers(IReadOnlyList<double> predicted, IReadOnlyList<double> truth, int width)
    {
        var n = truth.Count / width;
        return new ModelEvaluation
        {
            Kind = "numbers", Count = n,
            Points = Sample(n, MaxPoints).Select(i => new[] { truth[i * width], predicted[i * width] }).ToArray(),
        };
    }

    /// <summary>At most <paramref name="most"/> of 0 … <paramref name="count"/> − 1, evenly spaced, first and last included.</summary>
    public static IEnumerable<int> Sample(int count, int most) => count <= most
        ? Enumerable.Range(0, count)
        : Enumerable.Range(0, most).Select(i => (int)Math.Round(i * (count - 1) / (double)(most - 1))).Distinct();
}

/// <summary>
/// One validation window: where its input starts (the step, and its time when the data has times), the input's target
/// values, then the actual and forecast values (horizon × targets).
/// </summary>
public sealed record EvaluatedWindow(
    string Series, int Start, string? StartTime, double[][] History, double[][] Actual, double[][] Forecast,
    IReadOnlyDictionary<string, double[][]>? Quantiles);
