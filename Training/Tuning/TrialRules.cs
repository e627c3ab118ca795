using RnnService.Domain.Jobs;
using RnnService.Training.Pipeline;

namespace RnnService.Training.Tuning;

/// <summary>
/// How trials are ranked and when one stops early: the metric (which one, which way is better, a trial's value of
/// it) and the asha and median rules, each judged on the per-epoch validation history the trials' jobs record.
/// </summary>
public static class TrialRules
{
    /// <summary>asha's reduction factor: a trial goes on past a rung only in the best 1/η of those that reached it.</summary>
    public const int Eta = 3;

    /// <summary>The median rule waits this many epochs before it stops anything (a trial's first epochs say little).</summary>
    public const int MedianWarmup = 3;

    public static string DefaultMetric(TaskKind kind) => kind switch
    {
        TaskKind.Forecast => "mase",
        TaskKind.Classification => "accuracy",
        _ => "validationLoss",
    };

    /// <summary>The metrics a kind's jobs report, which a search may rank by.</summary>
    public static IReadOnlyList<string> Metrics(TaskKind kind, bool quantiles) => kind switch
    {
        TaskKind.Forecast => quantiles ? ["validationLoss", "mase", "smape", "mae", "rmse", "wql"] : ["validationLoss", "mase", "smape", "mae", "rmse"],
        TaskKind.Classification => ["validationLoss", "accuracy", "macroF1", "logLoss"],
        TaskKind.Regression => ["validationLoss", "mae", "rmse"],
        _ => ["validationLoss", "accuracy", "macroF1", "mae", "rmse"],
    };

    /// <summary>
    /// Whether a kind's jobs report the metric's standard error (as <see cref="StandardErrorName"/>) when their validation
    /// set allows one: forecasts over their windows, classifiers over their sequences.
    /// </summary>
    public static bool HasStandardError(TaskKind kind, string metric) => kind switch
    {
        TaskKind.Forecast => metric is "mase" or "smape" or "mae",
        TaskKind.Classification => metric is "accuracy" or "logLoss",
        _ => false,
    };

    /// <summary>The job metric that holds a metric's standard error.</summary>
    public static string StandardErrorName(string metric) => metric + "StandardError";

    public static bool LowerIsBetter(string metric) => metric is not ("accuracy" or "macroF1");

    /// <summary>A value as a score where lower is better.</summary>
    public static double Score(string metric, double value) => LowerIsBetter(metric) ? value : -value;

    /// <summary>An epoch's value of the metric; null when the epoch did not report it.</summary>
    public static double? At(EpochEntry entry, string metric) =>
        metric == "validationLoss" ? entry.ValidationLoss : entry.Metrics.TryGetValue(metric, out var value) ? value : null;

    /// <summary>The best score up to and including <paramref name="epoch"/>; null when no epoch so far reported the metric.</summary>
    public static double? BestUpTo(IEnumerable<EpochEntry> history, string metric, int epoch)
    {
        double? best = null;
        foreach (var entry in history)
        {
            if (entry.Epoch > epoch || At(entry, metric) is not { } value || !double.IsFinite(value)) continue;
            var score = Score(metric, value);
            if (best is null || score < best) best = score;
        }
        return best;
    }

    /// <summary>
    /// Whether a trial that just finished <paramref name="epoch"/> should stop, judged against the other trials of its
    /// search that reached that epoch. asha (Li et al., 2020, as Ray Tune runs it): at rungs 1, 3, 9, 27, … (powers of
    /// <see cref="Eta"/>), with at least two others there, a trial whose best so far is outside the best 1/η of all of
    /// them stops. median (Golovin et al., 2017, Google Vizier): after <see cref="MedianWarmup"/> epochs, with at least
    /// two others there, a trial whose best so far is worse than the median of theirs stops.
    /// </summary>
    public static bool ShouldStop(
        TrialStopping rule, string metric, int epoch, IReadOnlyList<EpochEntry> own, IEnumerable<IReadOnlyList<EpochEntry>> others)
    {
        if (rule == TrialStopping.None || BestUpTo(own, metric, epoch) is not { } mine) return false;
        var rung = 1;
        while (rung < epoch) rung *= Eta;
        if (rule == TrialStopping.Asha && rung != epoch) return false;
        if (rule == TrialStopping.Median && epoch < MedianWarmup) return false;
        var theirs = others
            .Where(history => history.Any(entry => entry.Epoch >= epoch))
            .Select(history => BestUpTo(history, metric, epoch))
            .OfType<double>()
            .Order()
            .ToArray();
        if (theirs.Length < 2) return false;
        if (rule == TrialStopping.Median) return mine > SortedQuantile.Of(theirs, 0.5);
        var all = theirs.Append(mine).Order().ToArray();
        return mine > SortedQuantile.Of(all, 1.0 / Eta);
    }
}
