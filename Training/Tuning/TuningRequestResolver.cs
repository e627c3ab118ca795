using System.Text.Json;
using RnnService.Domain.Budgets;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Validation;
using RnnService.Training.Tasks;

namespace RnnService.Training.Tuning;

/// <summary>
/// Checks a tuning request before anything is stored: the shared request must train as it stands, and so must it with
/// each value the space can give each field (every choice, both bounds), within the same budgets as any job. Fills in
/// the search's defaults. The shared task, model and training are kept as sent: each trial resolves its own defaults.
/// </summary>
public static class TuningRequestResolver
{
    public const int MaxTrials = 100;

    public static (TuningJobRequest? Request, IReadOnlyList<ValidationError> Errors) Resolve(
        TuningJobRequest request, DatasetSummary dataset, bool cudaPossible, JobLimits limits, long datasetBytes)
    {
        var errors = new List<ValidationError>();
        var shared = SearchSpace.Apply(request, new Dictionary<string, JsonElement>());
        var sharedResolution = TrainingRequestResolver.Resolve(shared, dataset, cudaPossible, limits, datasetBytes);
        errors.AddRange(sharedResolution.Errors);
        var search = request.Search ?? new SearchOptions();
        var maxTrials = search.MaxTrials ?? 10;
        var maxParallel = search.MaxParallel ?? Math.Min(2, maxTrials);
        if (maxTrials is < 1 or > MaxTrials) errors.Add(new("search.maxTrials", $"must be between 1 and {MaxTrials}, got {maxTrials}."));
        if (maxParallel < 1 || maxParallel > Math.Max(1, maxTrials))
            errors.Add(new("search.maxParallel", $"must be between 1 and maxTrials ({maxTrials}), got {maxParallel}."));
        if (search.Seed is < 0) errors.Add(new("search.seed", $"must be 0 or more, got {search.Seed}."));
        if (search.GracePeriod is < 1 or > TrialRules.MaxGracePeriod)
            errors.Add(new("search.gracePeriod", $"must be between 1 and {TrialRules.MaxGracePeriod} epochs, got {search.GracePeriod}."));
        if (sharedResolution.Request is not { } resolved) return (null, errors);

        var task = resolved.Task!;
        var metric = search.Metric ?? TrialRules.DefaultMetric(task.Kind!.Value);
        var metrics = TrialRules.Metrics(task.Kind!.Value, task.Quantiles is { Count: > 0 });
        if (!metrics.Contains(metric))
            errors.Add(new("search.metric", $"'{metric}' is not a metric {task.Kind.ToString()!.ToLowerInvariant()} jobs report: {string.Join(", ", metrics)}."));

        bool Trains(string path, JsonElement value, List<ValidationError>? problems)
        {
            TrainingJobRequest trial;
            try
            {
                trial = SearchSpace.Apply(request, new Dictionary<string, JsonElement> { [path] = value });
            }
            catch (JsonException)
            {
                problems?.Add(new($"search.space.{path}", $"{value.GetRawText()} is not a value {path} takes."));
                return false;
            }
            var resolution = TrainingRequestResolver.Resolve(trial, dataset, cudaPossible, limits, datasetBytes);
            foreach (var error in resolution.Errors)
                problems?.Add(new($"search.space.{path}", $"at {value.GetRawText()}: {error.Field} {error.Message}"));
            return resolution.Errors.Count == 0;
        }

        var space = search.Space ?? SearchSpace.Default(task, window => Trains("task.inputLength", JsonSerializer.SerializeToElement(window), null));
        var shapeErrors = new List<ValidationError>();
        SearchSpace.CheckShape(space, shapeErrors);
        errors.AddRange(shapeErrors);
        {
            foreach (var (path, range) in space)
            {
                if (shapeErrors.Any(e => e.Field == $"search.space.{path}")) continue;
                if (path.StartsWith("task.", StringComparison.Ordinal) && task.Kind != TaskKind.Forecast)
                {
                    errors.Add(new($"search.space.{path}", "applies to forecasts only."));
                    continue;
                }
                foreach (var value in SearchSpace.Extremes(range)) Trains(path, value, errors);
            }
        }
        if (errors.Count > 0) return (null, errors);
        return (request with
        {
            Search = new SearchOptions
            {
                Space = space, Strategy = search.Strategy ?? SearchStrategy.Random, MaxTrials = maxTrials, MaxParallel = maxParallel,
                Metric = metric, EarlyStopping = search.EarlyStopping ?? TrialStopping.Asha, GracePeriod = search.GracePeriod ?? TrialRules.DefaultGracePeriod,
                Seed = search.Seed ?? 1,
                IncludeDefaults = search.IncludeDefaults ?? true, Selection = search.Selection ?? SearchSelection.OneStandardError,
            },
        }, errors);
    }
}
