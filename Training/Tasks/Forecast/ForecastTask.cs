using System.Text.Json;
using RnnService.Domain.Budgets;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;

namespace RnnService.Training.Tasks.Forecast;

/// <summary>
/// Forecasting a time series: windows of <c>inputLength</c> steps of the features predict the next <c>horizon</c> steps of
/// the targets; window scaling by default; metrics in the data's own scale against the seasonal-naive forecast.
/// </summary>
public sealed class ForecastTask : SequenceTask
{
    public const int DefaultInputLength = 24;

    public override TaskKind Kind => TaskKind.Forecast;

    public override TaskOptions? Resolve(TaskOptions task, DatasetSummary dataset, TrainingOptions training, List<ValidationError> errors)
    {
        if (dataset.Kind != DatasetKind.TimeSeries)
        {
            errors.Add(new("task.kind", $"forecast needs a time-series (CSV) dataset; this one holds {Describe(dataset.Kind)}."));
            return null;
        }
        var columns = dataset.Columns ?? [];
        var targets = task.Targets ?? columns;
        var features = task.Features ?? targets;
        var before = errors.Count;
        if (targets.Count == 0) errors.Add(new("task.targets", "must name at least one column."));
        CheckColumns("task.targets", targets, columns, errors);
        CheckColumns("task.features", features, columns, errors);
        for (var i = 0; i < targets.Count; i++)
        {
            if (columns.Contains(targets[i]) && !features.Contains(targets[i]))
                errors.Add(new($"task.targets[{i}]", $"'{targets[i]}' must also be a feature: the model forecasts from its history."));
        }

        var horizon = task.Horizon ?? 1;
        var season = task.Season ?? 1;
        var shortest = dataset.MinLength;
        var inputLength = task.InputLength ?? Math.Max(1, Math.Min(DefaultInputLength, (shortest - horizon) / 2));
        if (horizon < 1 || horizon > 10_000)
            errors.Add(new("task.horizon", $"must be between 1 and 10000, got {horizon}."));
        else if (horizon >= shortest)
            errors.Add(new("task.horizon", $"{horizon} steps do not fit the shortest series ({shortest} steps) with any input."));
        if (inputLength < 1 || inputLength > 100_000)
            errors.Add(new("task.inputLength", $"must be between 1 and 100000, got {inputLength}."));
        else if (horizon >= 1 && horizon < shortest && inputLength + horizon > shortest)
            errors.Add(new("task.inputLength",
                $"inputLength + horizon = {inputLength + horizon} is longer than the shortest series ({shortest} steps)."));
        else if (horizon >= 1 && horizon < shortest && training.ValidationFraction is > 0 and < 1)
        {
            // Every series gives its end to validation; the longest must still leave a training window.
            var longest = dataset.MaxLength;
            var held = ForecastSplit.HeldOutSteps(longest, horizon, training.ValidationFraction.Value);
            if (longest - held < inputLength + horizon)
                errors.Add(new("task.inputLength",
                    $"after holding out the last {held} steps for validation, the longest series ({longest} steps) leaves no " +
                    $"training window of inputLength + horizon = {inputLength + horizon} steps; shorten them or lower training.validationFraction."));
        }
        if (season < 1 || season > inputLength)
            errors.Add(new("task.season", $"must be between 1 and inputLength ({inputLength}), got {season}."));
        if (task.VocabularySize is not null)
            errors.Add(new("task.vocabularySize", "applies to text datasets only."));
        if (errors.Count > before) return null;
        return task with
        {
            Targets = targets, Features = features, InputLength = inputLength, Horizon = horizon,
            Scaling = task.Scaling ?? ScalingKind.Window, Season = season,
        };
    }

    public override NetworkShape Network(TaskOptions task, DatasetSummary dataset) =>
        new(task.Features!.Count, 0, task.Horizon!.Value * task.Targets!.Count);

    public override string FieldOf(string specField, DatasetSummary dataset) => specField switch
    {
        "outputSize" => "task.horizon",
        _ => "task.features",
    };

    public override TrainingShape Budget(DatasetSummary dataset, TaskOptions task, TrainingOptions training, long datasetBytes) =>
        TrainingShapes.Forecast(dataset, task, training, datasetBytes);

    public override IReadOnlyList<string> MemoryFields(EstimatePart largest) => largest switch
    {
        EstimatePart.Step => ["training.batchSize", "task.inputLength"],
        EstimatePart.Validation => ["task.inputLength", "model.hiddenSize"],
        _ => ["task.inputLength"],
    };

    public override TaskPipeline Prepare(ParsedDataset data, TaskOptions task, TrainingOptions training) =>
        ForecastPipeline.Create(data.TimeSeries!, task, training);

    public override ServedTask Serve(ModelSpec spec, TaskOptions task, string preprocessingJson) =>
        new ForecastServing(spec, StoredJson.Read<ForecastPreprocessing>(preprocessingJson));

    public override ImportPlan? PlanImport(ModelSpec spec, JsonElement? preprocessing, List<ValidationError> errors)
    {
        if (preprocessing is not { ValueKind: JsonValueKind.Object } json)
        {
            errors.Add(new("spec.preprocessing", "is required for forecast models: scaling, features, targets, horizon (and mean, std)."));
            return null;
        }
        ForecastPreprocessing? read = null;
        try
        {
            read = json.Deserialize<ForecastPreprocessing>(StoredJson.Options);
        }
        catch (JsonException exception)
        {
            errors.Add(new("spec.preprocessing", $"is not a forecast preprocessing (features and targets are lists of names): {exception.Message}"));
        }
        if (read is null) return null;
        var width = spec.InputSize;
        var features = read.Features ?? [];
        var targets = read.Targets ?? [];
        if (spec.HasEmbedding) errors.Add(new("weights", "a forecast model reads numbers; these weights have an embedding."));
        if (features.Count != width)
            errors.Add(new("spec.preprocessing.features", $"names {features.Count} columns, but rnn.weight_ih_l0 reads {width} features."));
        if (targets.Count == 0 || targets.Any(t => !features.Contains(t)))
            errors.Add(new("spec.preprocessing.targets", "must name one or more of the features."));
        if (read.Horizon < 1) errors.Add(new("spec.preprocessing.horizon", "must be at least 1."));
        else if (targets.Count > 0 && read.Horizon * targets.Count != spec.OutputSize)
            errors.Add(new("spec.preprocessing.horizon",
                $"{read.Horizon} steps × {targets.Count} targets is {read.Horizon * targets.Count} outputs, but head.weight has {spec.OutputSize}."));
        if (read.Scaling == ScalingKind.Standard && (read.Mean is null || read.Std is null))
            errors.Add(new("spec.preprocessing.mean", "and std are required for standard scaling."));
        var mean = read.Mean ?? new double[width];
        var std = read.Std ?? Enumerable.Repeat(1.0, width).ToArray();
        ImportChecks.Scaler(errors, "spec.preprocessing", new ColumnScaler(mean, std), features.Count == width ? width : 0);
        if (errors.Count > 0) return null;
        var stored = read with { Mean = mean, Std = std, Season = Math.Max(1, read.Season), InputLength = Math.Max(1, read.InputLength) };
        var task = new TaskOptions
        {
            Kind = TaskKind.Forecast, Targets = stored.Targets, Features = stored.Features, InputLength = stored.InputLength,
            Horizon = stored.Horizon, Scaling = stored.Scaling, Season = stored.Season,
        };
        return new ImportPlan(spec, task, StoredJson.Write(stored));
    }

    private static void CheckColumns(string field, IReadOnlyList<string> names, IReadOnlyList<string> columns, List<ValidationError> errors)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (!columns.Contains(names[i]))
                errors.Add(new($"{field}[{i}]", $"column '{names[i]}' is not a numeric column of the dataset (it has: {string.Join(", ", columns)})."));
        }
        if (names.Distinct().Count() != names.Count) errors.Add(new(field, "names a column twice."));
    }
}
