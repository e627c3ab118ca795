using System.Globalization;
using System.Xml;
using RnnService.Domain.Budgets;
using RnnService.Domain.Datasets;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;

namespace RnnService.Domain.Jobs;

/// <summary>
/// A resolved request with the estimate of what it needs, or the problems that keep it from being queued. Deconstructs
/// into the request and the problems.
/// </summary>
public sealed record TrainingResolution(TrainingJobRequest? Request, IReadOnlyList<ValidationError> Errors, TrainingEstimate? Estimate)
{
    public void Deconstruct(out TrainingJobRequest? request, out IReadOnlyList<ValidationError> errors)
    {
        request = Request;
        errors = Errors;
    }
}

/// <summary>
/// Checks a training request against its dataset and fills in every default, so that a job is queued only when
/// nothing known up front can make it fail: the network it describes must be one the engine builds, and its estimated
/// parameters, memory and time must fit the job limits. Errors are keyed by the request's field paths.
/// </summary>
public static class TrainingRequestResolver
{
    public const int DefaultInputLength = 24;

    public static TrainingResolution Resolve(TrainingJobRequest request, DatasetSummary dataset, bool cudaAvailable) =>
        Resolve(request, dataset, cudaAvailable, JobLimits.None, datasetBytes: 0);

    /// <param name="datasetBytes">The dataset file's size, which parsing it again in the worker costs memory by.</param>
    public static TrainingResolution Resolve(
        TrainingJobRequest request, DatasetSummary dataset, bool cudaAvailable, JobLimits limits, long datasetBytes)
    {
        var errors = new List<ValidationError>();
        var training = ResolveTraining(request.Training ?? new(), cudaAvailable, limits, errors);
        var kind = request.Task?.Kind;
        TaskOptions? task = null;
        if (kind is null) errors.Add(new("task.kind", "is required: forecast, classification or regression."));
        else if (kind == TaskKind.Forecast) task = ResolveForecast(request.Task!, dataset, training, errors);
        else task = ResolveSequenceTask(request.Task!, dataset, training, errors);
        var model = ResolveModel(request.Model ?? new(), dataset, errors);
        if (errors.Count > 0) return new(null, errors, null);

        // The network the worker will build, checked as the engine checks it, then budgeted.
        var forecast = kind == TaskKind.Forecast;
        var spec = forecast
            ? model.ToSpec(task!.Features!.Count, 0, task.Horizon!.Value * task.Targets!.Count)
            : model.ToSpec(dataset.FeatureCount ?? 1, Vocabulary(task!, dataset), Outputs(task!, dataset));
        foreach (var error in spec.Validate())
        {
            var field = error.Field switch
            {
                "outputSize" => forecast ? "task.horizon" : "datasetId",
                "vocabularySize" => "task.vocabularySize",
                "inputSize" => forecast ? "task.features" : dataset.Kind == DatasetKind.Texts ? "model.embeddingDim" : "datasetId",
                var name => "model." + name,
            };
            errors.Add(new(field, error.Field == "outputSize" ? $"gives the model {spec.OutputSize} outputs; {error.Message}" : error.Message));
        }
        if (errors.Count > 0) return new(null, errors, null);
        var shape = forecast
            ? TrainingShapes.Forecast(dataset, task!, training, datasetBytes)
            : TrainingShapes.Sequences(dataset, training, datasetBytes);
        var estimate = TrainingEstimate.For(spec, shape);
        errors.AddRange(limits.Check(estimate, spec, forecast));
        if (errors.Count > 0) return new(null, errors, estimate);
        return new(request with { Task = task, Model = model, Training = training }, errors, estimate);
    }

    /// <summary>A text model's vocabulary: the requested size, or fewer when the texts have fewer distinct words.</summary>
    private static int Vocabulary(TaskOptions task, DatasetSummary dataset) =>
        dataset.Kind != DatasetKind.Texts ? 0
        : dataset.DistinctTokens is { } distinct ? (int)Math.Min(task.VocabularySize!.Value, distinct + 2L)
        : task.VocabularySize!.Value;

    private static int Outputs(TaskOptions task, DatasetSummary dataset) =>
        task.Kind == TaskKind.Classification ? dataset.Labels!.Classes!.Count : dataset.Labels!.Width;

    /// <summary>An ISO 8601 duration (PT2H) or a .NET time span (02:00:00).</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        if (text.StartsWith('P') || text.StartsWith("-P", StringComparison.Ordinal))
        {
            try
            {
                return XmlConvert.ToTimeSpan(text);
            }
            catch (FormatException)
            {
                return null;
            }
            catch (OverflowException)
            {
                return TimeSpan.MaxValue;
            }
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
    }

    private static TrainingOptions ResolveTraining(TrainingOptions options, bool cudaAvailable, JobLimits limits, List<ValidationError> errors)
    {
        var maxDuration = limits.MaxDuration;
        if (options.MaxDuration is { } text)
        {
            var parsed = ParseDuration(text);
            if (parsed is null)
                errors.Add(new("training.maxDuration", $"'{text}' is not a duration: use ISO 8601 (PT30M, PT2H, P1D) or hh:mm:ss."));
            else if (parsed <= TimeSpan.Zero)
                errors.Add(new("training.maxDuration", $"must be positive, got {text}."));
            else if (parsed > limits.MaxDuration)
                errors.Add(new("training.maxDuration",
                    $"is {text}; at most {XmlConvert.ToString(limits.MaxDuration)} is allowed (Jobs:MaxJobDuration)."));
            else maxDuration = parsed.Value;
        }
        var resolved = new TrainingOptions
        {
            Epochs = options.Epochs ?? 100,
            BatchSize = options.BatchSize ?? 32,
            LearningRate = options.LearningRate ?? 1e-3,
            GradientClipNorm = options.GradientClipNorm ?? 1.0,
            ValidationFraction = options.ValidationFraction ?? 0.2,
            EarlyStoppingPatience = options.EarlyStoppingPatience ?? 10,
            Seed = options.Seed ?? 42,
            Device = options.Device ?? DeviceChoice.Auto,
            MaxDuration = XmlConvert.ToString(maxDuration),
        };
        if (resolved.Epochs is < 1 or > 100_000)
            errors.Add(new("training.epochs", $"must be between 1 and 100000, got {resolved.Epochs}."));
        if (resolved.BatchSize is < 1 or > 65_536)
            errors.Add(new("training.batchSize", $"must be between 1 and 65536, got {resolved.BatchSize}."));
        if (!(resolved.LearningRate is > 0 and <= 10))
            errors.Add(new("training.learningRate", $"must be above 0 and at most 10, got {resolved.LearningRate}."));
        if (!(resolved.GradientClipNorm is >= 0 and < double.PositiveInfinity))
            errors.Add(new("training.gradientClipNorm", $"must be 0 (off) or a positive number, got {resolved.GradientClipNorm}."));
        if (!(resolved.ValidationFraction is > 0 and < 1))
            errors.Add(new("training.validationFraction", $"must be above 0 and below 1, got {resolved.ValidationFraction}."));
        if (resolved.EarlyStoppingPatience is < 0)
            errors.Add(new("training.earlyStoppingPatience", $"must be 0 (off) or more, got {resolved.EarlyStoppingPatience}."));
        if (resolved.Seed is < 0)
            errors.Add(new("training.seed", $"must be 0 or more, got {resolved.Seed}."));
        if (resolved.Device == DeviceChoice.Cuda && !cudaAvailable)
            errors.Add(new("training.device", "no CUDA device on this server; use auto or cpu."));
        return resolved;
    }

    private static TaskOptions? ResolveForecast(
        TaskOptions task, DatasetSummary dataset, TrainingOptions training, List<ValidationError> errors)
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

    private static TaskOptions? ResolveSequenceTask(
        TaskOptions task, DatasetSummary dataset, TrainingOptions training, List<ValidationError> errors)
    {
        if (dataset.Kind == DatasetKind.TimeSeries)
        {
            errors.Add(new("task.kind", $"{Name(task.Kind!.Value)} needs a sequences or texts (JSON lines) dataset; this one is a time series."));
            return null;
        }
        var before = errors.Count;
        var labels = dataset.Labels!;
        if (task.Kind == TaskKind.Classification)
        {
            if (labels.Kind != LabelKind.Class)
                errors.Add(new("task.kind", "classification needs integer class labels; this dataset's labels are numbers (use regression)."));
            else if (labels.Classes!.Count < 2)
                errors.Add(new("task.kind", $"classification needs at least two classes; this dataset has {labels.Classes.Count}."));
        }
        foreach (var (field, value) in new[] { ("task.targets", (object?)task.Targets), ("task.features", task.Features),
                     ("task.inputLength", task.InputLength), ("task.horizon", task.Horizon), ("task.scaling", task.Scaling),
                     ("task.season", task.Season) })
        {
            if (value is not null) errors.Add(new(field, "applies to forecasts only."));
        }
        var vocabularySize = task.VocabularySize ?? 20_000;
        if (dataset.Kind == DatasetKind.Texts && vocabularySize is < 3 or > 10_000_000)
            errors.Add(new("task.vocabularySize", $"must be between 3 and 10000000, got {vocabularySize}."));
        if (dataset.Kind != DatasetKind.Texts && task.VocabularySize is not null)
            errors.Add(new("task.vocabularySize", "applies to text datasets only."));
        if (dataset.Rows < 2)
            errors.Add(new("datasetId", $"the dataset has {dataset.Rows} example; training and validation need at least two."));
        if (errors.Count > before) return null;
        return new TaskOptions { Kind = task.Kind, VocabularySize = dataset.Kind == DatasetKind.Texts ? vocabularySize : null };
    }

    private static ModelOptions ResolveModel(ModelOptions model, DatasetSummary dataset, List<ValidationError> errors)
    {
        var texts = dataset.Kind == DatasetKind.Texts;
        var resolved = new ModelOptions
        {
            Cell = model.Cell ?? CellKind.Lstm,
            HiddenSize = model.HiddenSize ?? 64,
            NumLayers = model.NumLayers ?? 1,
            Bidirectional = model.Bidirectional ?? false,
            Dropout = model.Dropout ?? 0,
            EmbeddingDim = texts ? model.EmbeddingDim ?? 64 : null,
            Pooling = model.Pooling ?? PoolingKind.Last,
        };
        if (!texts && model.EmbeddingDim is not null)
            errors.Add(new("model.embeddingDim", "applies to text datasets only."));
        // The engine's own rules for each field, reported under the request's names (the embedding's width stands in for
        // the input); the parameter count depends on the data's sizes, and is checked on the real spec.
        foreach (var error in resolved.ToSpec(resolved.EmbeddingDim ?? 1, vocabularySize: 0, outputSize: 1).ValidateFields())
            errors.Add(new(error.Field == "inputSize" ? "model.embeddingDim" : "model." + error.Field, error.Message));
        return resolved;
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

    private static string Describe(DatasetKind kind) => kind switch
    {
        DatasetKind.Sequences => "sequences",
        DatasetKind.Texts => "texts",
        _ => "a time series",
    };

    private static string Name(TaskKind kind) => kind.ToString().ToLowerInvariant();
}

/// <summary>The chronological split of a forecast: every series gives its last steps to validation.</summary>
public static class ForecastSplit
{
    /// <summary>Steps held out at the end of a series of <paramref name="length"/> steps: at least one horizon.</summary>
    public static int HeldOutSteps(int length, int horizon, double validationFraction) =>
        Math.Max(horizon, (int)Math.Ceiling(length * validationFraction));
}
