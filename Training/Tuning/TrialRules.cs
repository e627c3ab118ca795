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

    /// <summary>
    /// The epochs a trial runs before either rule may stop it, unless its search says otherwise: asha's first rung, the
    /// median rule's warm-up. Chosen by replaying asha on the per-epoch histories of searches run to the end (the
    /// tuning benchmark): at 1 it stopped fortunes' best trial, which beats the defaults by more than a standard error;
    /// at 3 it runs on, and the eight other datasets replayed make the same picks as at 1, with 2.1–4.3× fewer epochs
    /// than running every trial to the end.
    /// </summary>
    public const int DefaultGracePeriod = 3;

    /// <summary>The most a search may set (a trial's first rung past it would be beyond any job's epochs).</summary>
    public const int MaxGracePeriod = 1000;

    /// <summary>
    /// A search's grace period: its own, or for searches stored before it could be set, what the rules then used
    /// (asha's first rung at epoch 1, the median rule's warm-up of 3).
    /// </summary>
    public static int GracePeriodOf(SearchOptions search) =>
        search.GracePeriod ?? (search.EarlyStopping == TrialStopping.Median ? 3 : 1);

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
    /// search that reached that epoch. asha (Li et al., 2020, as Ray Tune runs it, with its grace period): at rungs g,
    /// gη, gη², … (g the grace period, η = <see cref="Eta"/>), with at least two others there, a trial whose best so far
    /// is outside the best 1/η of all of them stops. median (Golovin et al., 2017, Google Vizier): from epoch g, with
    /// at least two others there, a trial whose best so far is worse than the median of theirs stops.
    /// </summary>
    public static bool ShouldStop(
        TrialStopping rule, string metric, int epoch, IReadOnlyList<EpochEntry> own, IEnumerable<IReadOnlyList<EpochEntry>> others,
        int gracePeriod)
    {
        if (rule == TrialStopping.None || epoch < gracePeriod || BestUpTo(own, metric, epoch) is not { } mine) return false;
        var rung = gracePeriod;
        while (rung < epoch) rung *= Eta;
        if (rule == TrialStopping.Asha && rung != epoch) return false;
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
