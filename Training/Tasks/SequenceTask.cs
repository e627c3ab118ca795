using System.Text.Json;
using RnnService.Domain.Budgets;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;

namespace RnnService.Training.Tasks;

/// <summary>The sizes of the network a task needs on a dataset: what each step holds and what the head gives.</summary>
/// <param name="InputSize">Features per step; for token models the embedding's width comes from the model options.</param>
/// <param name="VocabularySize">Token models: the vocabulary, &lt;pad&gt; and &lt;unk&gt; included; 0 otherwise.</param>
/// <param name="OutputSize">Head outputs, per sequence or (<paramref name="PerStep"/>) per step.</param>
public sealed record NetworkShape(int InputSize, int VocabularySize, int OutputSize, bool PerStep = false);

/// <summary>A model version's task, stored preprocessing and network, ready to register (imports).</summary>
public sealed record ImportPlan(ModelSpec Spec, TaskOptions Task, string Preprocessing);

/// <summary>
/// One task kind, whole: which datasets it trains on and how its request is resolved (defaults included); the network
/// it needs; how the dataset becomes examples, loss and metrics (its <see cref="TaskPipeline"/>); how a stored version
/// answers predict requests (its <see cref="ServedTask"/>); and what an imported model's preprocessing must say. The
/// resolver, the worker, the model cache and the importer ask <see cref="TaskKinds"/> for the kind's type and branch on
/// nothing; a new kind is a folder beside these and a line in <see cref="TaskKinds"/>.
/// </summary>
public abstract class SequenceTask
{
    public abstract TaskKind Kind { get; }

    public string Name => Kind.ToString().ToLowerInvariant();

    /// <summary>The head gives an output at every step (labelling) rather than one per sequence.</summary>
    public virtual bool PerStep => false;

    /// <summary>
    /// Checks the <c>task</c> part of a request against the dataset and fills in its defaults; problems are keyed by the
    /// request's field paths. Null when there are problems.
    /// </summary>
    public abstract TaskOptions? Resolve(TaskOptions task, DatasetSummary dataset, TrainingOptions training, List<ValidationError> errors);

    /// <summary>The kind's model defaults where they differ from the family's (<see cref="ModelOptions"/> as sent).</summary>
    public virtual ModelOptions ModelDefaults(ModelOptions model, DatasetSummary dataset) => model;

    /// <summary>The kind's training defaults where they differ from the service's (<see cref="TrainingOptions"/> as sent).</summary>
    public virtual TrainingOptions TrainingDefaults(TrainingOptions training, DatasetSummary dataset) => training;

    /// <summary>The network a resolved task needs on the dataset.</summary>
    public abstract NetworkShape Network(TaskOptions task, DatasetSummary dataset);

    /// <summary>The request field that a problem with one of the spec's data-derived sizes is about.</summary>
    public abstract string FieldOf(string specField, DatasetSummary dataset);

    /// <summary>What training costs in examples and bytes, for the job's budget.</summary>
    public abstract TrainingShape Budget(DatasetSummary dataset, TaskOptions task, TrainingOptions training, long datasetBytes);

    /// <summary>The request fields that make a job's memory large, by its largest part (for the 400 that refuses it).</summary>
    public virtual IReadOnlyList<string> MemoryFields(EstimatePart largest) => largest switch
    {
        EstimatePart.Step => ["training.batchSize"],
        EstimatePart.Validation => ["model.hiddenSize"],
        _ => ["datasetId"],
    };

    /// <summary>The dataset as the engine's examples, split, with the kind's loss, metrics and stored preprocessing.</summary>
    public abstract TaskPipeline Prepare(ParsedDataset data, TaskOptions task, TrainingOptions training);

    /// <summary>A stored version's serving: its preprocessing applied to predict requests, its outputs mapped back.</summary>
    public abstract ServedTask Serve(ModelSpec spec, TaskOptions task, string preprocessingJson);

    /// <summary>
    /// Checks an import's preprocessing (as sent, or absent) against the network read from its weights, and gives what
    /// is stored; problems are keyed by the import's field paths.
    /// </summary>
    public abstract ImportPlan? PlanImport(ModelSpec spec, JsonElement? preprocessing, List<ValidationError> errors);

    /// <summary>"a time series", "sequences", "texts", "token lists": for messages.</summary>
    protected static string Describe(DatasetKind kind) => kind switch
    {
        DatasetKind.Sequences => "sequences",
        DatasetKind.Texts => "texts",
        DatasetKind.Tokens => "token lists",
        _ => "a time series",
    };
}
