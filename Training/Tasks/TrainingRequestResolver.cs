using System.Globalization;
using System.Xml;
using RnnService.Domain.Budgets;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;

namespace RnnService.Training.Tasks;

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
/// parameters, memory and time must fit the job limits. Errors are keyed by the request's field paths. What depends on
/// the task kind is the kind's own (<see cref="TaskKinds"/>); what is here is common to all.
/// </summary>
public static class TrainingRequestResolver
{
    /// <summary>Dropout on embedded tokens: measured on real corpora (README's real-data table), it narrows the gap to naive Bayes most.</summary>
    public const double DefaultEmbeddingDropout = 0.5;

    public static TrainingResolution Resolve(TrainingJobRequest request, DatasetSummary dataset, bool cudaAvailable) =>
        Resolve(request, dataset, cudaAvailable, JobLimits.None, datasetBytes: 0);

    /// <param name="datasetBytes">The dataset file's size, which parsing it again in the worker costs memory by.</param>
    public static TrainingResolution Resolve(
        TrainingJobRequest request, DatasetSummary dataset, bool cudaAvailable, JobLimits limits, long datasetBytes)
    {
        var errors = new List<ValidationError>();
        var kind = request.Task?.Kind is { } given ? TaskKinds.For(given) : null;
        if (kind is null) errors.Add(new("task.kind", $"is required: {TaskKinds.Names}."));
        var sent = request.Training ?? new();
        var training = ResolveTraining(kind?.TrainingDefaults(sent, dataset) ?? sent, cudaAvailable, limits, errors);
        var task = kind?.Resolve(request.Task!, dataset, training, errors);
        var model = ResolveModel(kind?.ModelDefaults(request.Model ?? new(), dataset) ?? request.Model ?? new(), dataset, errors);
        if (errors.Count > 0) return new(null, errors, null);

        // The network the worker will build, checked as the engine checks it, then budgeted.
        var network = kind!.Network(task!, dataset);
        var spec = model.ToSpec(network.InputSize, network.VocabularySize, network.OutputSize, network.PerStep);
        foreach (var error in spec.Validate())
        {
            var field = error.Field is "outputSize" or "vocabularySize" or "inputSize" ? kind.FieldOf(error.Field, dataset) : "model." + error.Field;
            errors.Add(new(field, error.Field == "outputSize" ? $"gives the model {spec.OutputSize} outputs; {error.Message}" : error.Message));
        }
        if (errors.Count > 0) return new(null, errors, null);
        var estimate = TrainingEstimate.For(spec, kind.Budget(dataset, task!, training, datasetBytes));
        errors.AddRange(limits.Check(estimate, spec, kind.MemoryFields));
        if (errors.Count > 0) return new(null, errors, estimate);
        return new(request with { Task = task, Model = model, Training = training }, errors, estimate);
    }

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

    private static ModelOptions ResolveModel(ModelOptions model, DatasetSummary dataset, List<ValidationError> errors)
    {
        var texts = dataset.Kind is DatasetKind.Texts or DatasetKind.Tokens;
        var resolved = new ModelOptions
        {
            Cell = model.Cell ?? CellKind.Lstm,
            HiddenSize = model.HiddenSize ?? 64,
            NumLayers = model.NumLayers ?? 1,
            Bidirectional = model.Bidirectional ?? false,
            Dropout = model.Dropout ?? 0,
            EmbeddingDim = texts ? model.EmbeddingDim ?? 64 : null,
            EmbeddingDropout = texts ? model.EmbeddingDropout ?? DefaultEmbeddingDropout : null,
            Pooling = model.Pooling ?? PoolingKind.Last,
        };
        if (!texts && model.EmbeddingDim is not null)
            errors.Add(new("model.embeddingDim", "applies to text and token datasets only."));
        if (!texts && model.EmbeddingDropout is not null)
            errors.Add(new("model.embeddingDropout", "applies to text and token datasets only."));
        // The engine's own rules for each field, reported under the request's names (the embedding's width stands in for
        // the input, a token placeholder for the vocabulary); the parameter count depends on the data's sizes, and is
        // checked on the real spec.
        foreach (var error in resolved.ToSpec(resolved.EmbeddingDim ?? 1, vocabularySize: texts ? 2 : 0, outputSize: 1).ValidateFields())
            errors.Add(new(error.Field == "inputSize" ? "model.embeddingDim" : "model." + error.Field, error.Message));
        return resolved;
    }
}
