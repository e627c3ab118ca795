using System.ComponentModel;
using System.Text.Json;

namespace RnnService.Domain.Jobs;

/// <summary>
/// A hyperparameter search: the training request every trial shares (<c>task</c>, and the fixed part of <c>model</c>
/// and <c>training</c>) and the <c>search</c> that varies the rest. Each trial is an ordinary training job.
/// </summary>
public sealed record TuningJobRequest
{
    [Description("The dataset every trial trains on (from POST /datasets).")]
    public string? DatasetId { get; init; }

    [Description("The registry name: once the search ends, the best trial's model is registered as its next version.")]
    public string? ModelName { get; init; }

    public TaskOptions? Task { get; init; }

    [Description("Model settings every trial shares; a field the search space also names is the search's.")]
    public ModelOptions? Model { get; init; }

    [Description("Training settings every trial shares; a field the search space also names is the search's.")]
    public TrainingOptions? Training { get; init; }

    public SearchOptions? Search { get; init; }
}

/// <summary>What to search, how, and for how long. Every part has a default (a space per task kind).</summary>
public sealed record SearchOptions
{
    [Description("Fields to vary, by path (model.hiddenSize, training.learningRate, task.inputLength, ...), each a range: " +
                 "{\"choice\": [...]}, {\"int\": [low, high]}, {\"uniform\": [low, high]} or {\"logUniform\": [low, high]}. " +
                 "Default: the task kind's space (hidden size, layers, dropout, learning rate, batch size; and the window for forecasts).")]
    public Dictionary<string, ParameterRange>? Space { get; init; }

    [Description("random, or tpe (a tree-structured Parzen estimator: after a first round at random, each round samples " +
                 "where the best quarter of the finished trials lies). Default random.")]
    public SearchStrategy? Strategy { get; init; }

    [Description("Trials in all (1 to 100). Default 10.")]
    public int? MaxTrials { get; init; }

    [Description("Trials queued or running at once (1 to maxTrials): the workers share them. Default 2.")]
    public int? MaxParallel { get; init; }

    [Description("The validation metric that ranks trials: validationLoss or one the task reports (mase, smape, accuracy, " +
                 "macroF1, rmse, ...). Default: mase for forecasts, accuracy for classification, validationLoss otherwise.")]
    public string? Metric { get; init; }

    [Description("asha (asynchronous successive halving: at epochs 3, 9, 27, ... (gracePeriod, ×3, ...) a trial outside the best third of those " +
                 "that reached that epoch stops), median (a trial worse at an epoch than the median of the others there stops), or none. Default asha.")]
    public TrialStopping? EarlyStopping { get; init; }

    [Description("Epochs every trial runs before early stopping may stop it: asha's rungs are gracePeriod, 3×, 9×, ... " +
                 "that; the median rule starts there. 1 to 1000. Default 3.")]
    public int? GracePeriod { get; init; }

    [Description("Trial 0 is the shared request as it stands, every varied field at the service's default, so that the " +
                 "search's best is never one that validated worse than the defaults. Default true.")]
    public bool? IncludeDefaults { get; init; }

    [Description("Seeds the choice of trials: the same seed, space and results give the same trials. Default 1.")]
    public long? Seed { get; init; }

    [Description("Which trial the search returns once trials end: best (the best value of the metric), or oneStandardError " +
                 "(the defaults, trial 0, unless the best beats them by more than one standard error of its value: a trial " +
                 "that validated better by less than the validation set's noise is not preferred to the defaults). " +
                 "oneStandardError needs includeDefaults and a metric with a standard error (forecasts: mase, smape, mae; " +
                 "classification: accuracy, logLoss); otherwise best is used. A metric without its standard error (a " +
                 "forecast validated on less than two horizons) keeps the defaults. Default oneStandardError.")]
    public SearchSelection? Selection { get; init; }
}

/// <summary>Which trial a search returns: see <see cref="SearchOptions.Selection"/>.</summary>
public enum SearchSelection
{
    OneStandardError,
    Best,
}

/// <summary>
/// One field's range: exactly one of <c>choice</c> (any JSON values), <c>int</c> (whole numbers from low to high, both
/// included), <c>uniform</c> or <c>logUniform</c> (numbers from low to high; log-uniform needs low &gt; 0).
/// </summary>
public sealed record ParameterRange
{
    public IReadOnlyList<JsonElement>? Choice { get; init; }

    public IReadOnlyList<double>? Int { get; init; }

    public IReadOnlyList<double>? Uniform { get; init; }

    public IReadOnlyList<double>? LogUniform { get; init; }
}

public enum SearchStrategy
{
    Random,
    Tpe,
}

public enum TrialStopping
{
    Asha,
    Median,
    None,
}
