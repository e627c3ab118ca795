using System.Text.Json;
using RnnService.Domain.Budgets;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Storage;

namespace RnnService.Training.Tasks.Sequences;

/// <summary>
/// What the kinds that read sequences, texts or token lists share (classification, regression, labelling): the dataset
/// kinds they accept, the vocabulary of token models, the budget of their examples, and the import of their
/// <see cref="SequencePreprocessing"/>. Each kind says which labels it takes and what they become.
/// </summary>
public abstract class SequenceInputTask : SequenceTask
{
    public const int DefaultVocabularySize = 20_000;

    /// <summary>What is wrong with the dataset's labels for this kind, if anything.</summary>
    protected abstract string? LabelProblem(LabelSummary labels);

    /// <summary>The head's outputs for the dataset's labels: classes, or numbers per label.</summary>
    protected static int Outputs(LabelSummary labels) => labels.Kind == LabelKind.Class ? labels.Classes!.Count : labels.Width;

    public override TaskOptions? Resolve(TaskOptions task, DatasetSummary dataset, TrainingOptions training, List<ValidationError> errors)
    {
        if (dataset.Kind == DatasetKind.TimeSeries || dataset.Labels is null)
        {
            errors.Add(new("task.kind", $"{Name} needs {Needs}; this one is a time series."));
            return null;
        }
        var before = errors.Count;
        if (dataset.Labels.PerStep != PerStep)
            errors.Add(new("task.kind", PerStep
                ? $"labelling needs a label per step (\"labels\" lists of sequences or tokens); this dataset has one label per example (use classification or regression)."
                : $"{Name} needs one label per example; this dataset labels every step (use labelling)."));
        else if (LabelProblem(dataset.Labels) is { } problem) errors.Add(new("task.kind", problem));
        foreach (var (field, value) in new[] { ("task.targets", (object?)task.Targets), ("task.features", task.Features),
                     ("task.inputLength", task.InputLength), ("task.horizon", task.Horizon), ("task.scaling", task.Scaling),
                     ("task.season", task.Season) })
        {
            if (value is not null) errors.Add(new(field, "applies to forecasts only."));
        }
        var tokens = ReadsTokens(dataset);
        var vocabularySize = task.VocabularySize ?? DefaultVocabularySize;
        if (tokens && vocabularySize is < 3 or > 10_000_000)
            errors.Add(new("task.vocabularySize", $"must be between 3 and 10000000, got {vocabularySize}."));
        if (!tokens && task.VocabularySize is not null)
            errors.Add(new("task.vocabularySize", "applies to text and token datasets only."));
        if (dataset.Rows < 2)
            errors.Add(new("datasetId", $"the dataset has {dataset.Rows} example; training and validation need at least two."));
        if (errors.Count > before) return null;
        return new TaskOptions { Kind = Kind, VocabularySize = tokens ? vocabularySize : null };
    }

    /// <summary>What the kind trains on, for messages: "a sequences or texts (JSON lines) dataset".</summary>
    protected virtual string Needs => "a sequences or texts (JSON lines) dataset";

    protected static bool ReadsTokens(DatasetSummary dataset) => dataset.Kind is DatasetKind.Texts or DatasetKind.Tokens;

    public override NetworkShape Network(TaskOptions task, DatasetSummary dataset) =>
        new(dataset.FeatureCount ?? 1, Vocabulary(task, dataset), Outputs(dataset.Labels!), PerStep);

    /// <summary>A token model's vocabulary: the requested size, or fewer when the data has fewer distinct words.</summary>
    private static int Vocabulary(TaskOptions task, DatasetSummary dataset) =>
        !ReadsTokens(dataset) ? 0
        : dataset.DistinctTokens is { } distinct ? (int)Math.Min(task.VocabularySize!.Value, distinct + 2L)
        : task.VocabularySize!.Value;

    public override string FieldOf(string specField, DatasetSummary dataset) => specField switch
    {
        "inputSize" when ReadsTokens(dataset) => "model.embeddingDim",
        "vocabularySize" => "task.vocabularySize",
        _ => "datasetId",
    };

    public override TrainingShape Budget(DatasetSummary dataset, TaskOptions task, TrainingOptions training, long datasetBytes) =>
        TrainingShapes.Sequences(dataset, training, datasetBytes);

    public override ImportPlan? PlanImport(ModelSpec spec, JsonElement? preprocessing, List<ValidationError> errors)
    {
        SequencePreprocessing read;
        try
        {
            read = preprocessing is { ValueKind: JsonValueKind.Object } json
                ? json.Deserialize<SequencePreprocessing>(StoredJson.Options)! with { Task = Kind }
                : new SequencePreprocessing(Kind, null, null, null, null, null);
        }
        catch (JsonException exception)
        {
            errors.Add(new("spec.preprocessing", $"is not a sequence model's preprocessing: {exception.Message}"));
            return null;
        }
        ImportChecks.Scaler(errors, "spec.preprocessing.features", read.Features, spec.HasEmbedding ? 0 : spec.InputSize);
        if (read.Vocabulary is { } vocabulary)
        {
            if (!spec.HasEmbedding) errors.Add(new("spec.preprocessing.vocabulary", "is for token models; these weights have no embedding."));
            else if (vocabulary.Count != spec.VocabularySize)
                errors.Add(new("spec.preprocessing.vocabulary", $"has {vocabulary.Count} words, but embedding.weight has {spec.VocabularySize} rows."));
        }
        CheckLabels(spec, read, errors);
        if (errors.Count > 0) return null;
        var tokenizer = read.Vocabulary is null ? null : read.Tokenizer ?? Data.Tokenizer.Name;
        return new ImportPlan(spec, new TaskOptions { Kind = Kind }, StoredJson.Write(read with { Tokenizer = tokenizer }));
    }

    /// <summary>An imported preprocessing's labels or targets against the head.</summary>
    protected abstract void CheckLabels(ModelSpec spec, SequencePreprocessing preprocessing, List<ValidationError> errors);

    /// <summary>Class labels: one per head output, and no target scaling.</summary>
    protected static void CheckClasses(ModelSpec spec, SequencePreprocessing preprocessing, List<ValidationError> errors)
    {
        if (preprocessing.Labels is { } labels && labels.Count != spec.OutputSize)
            errors.Add(new("spec.preprocessing.labels", $"has {labels.Count} labels, but head.weight has {spec.OutputSize} outputs."));
        if (preprocessing.Targets is not null) errors.Add(new("spec.preprocessing.targets", "is for models of numbers (regression)."));
    }

    /// <summary>Numbers: a target scaling of one column per head output, and no class labels.</summary>
    protected static void CheckNumbers(ModelSpec spec, SequencePreprocessing preprocessing, List<ValidationError> errors)
    {
        ImportChecks.Scaler(errors, "spec.preprocessing.targets", preprocessing.Targets, spec.OutputSize);
        if (preprocessing.Labels is not null) errors.Add(new("spec.preprocessing.labels", "is for models of classes (classification)."));
    }
}
