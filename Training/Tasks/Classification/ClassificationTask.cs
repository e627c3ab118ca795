using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;
using RnnService.Training.Tasks.Sequences;

namespace RnnService.Training.Tasks.Classification;

/// <summary>
/// Classifying whole sequences or texts: cross-entropy over the classes, the epoch of best validation accuracy kept,
/// answers with the most probable class and every class's probability.
/// </summary>
public sealed class ClassificationTask : SequenceInputTask
{
    public override TaskKind Kind => TaskKind.Classification;

    protected override string? LabelProblem(LabelSummary labels) =>
        labels.Kind != LabelKind.Class ? "classification needs integer class labels; this dataset's labels are numbers (use regression)."
        : labels.Classes!.Count < 2 ? $"classification needs at least two classes; this dataset has {labels.Classes.Count}."
        : null;

    /// <summary>
    /// The learning rate of classifiers, texts and sequences alike. Chosen with <see cref="ModelDefaults"/> for
    /// texts; for sequences of numbers it measured best too (docs/benchmarks.md's real-data section, three seeds each, mean
    /// validation accuracy of digits and dna): 0.940 against 0.893 at the family's 0.001, where dna's long sequences
    /// often stopped early before the last state had learned to carry the junction's letters (held-out 0.74-0.86
    /// over five seeds; 0.91-0.92 over three at 0.002).
    /// </summary>
    public const double DefaultLearningRate = 0.002;

    /// <summary>
    /// Texts are read in both directions with attention pooling: of the settings README's real-data table compares, the
    /// best by validation accuracy averaged over its two corpora (with <see cref="DefaultLearningRate"/>). Sequences of
    /// numbers keep the family's model (the last state of one direction): over three seeds, its mean validation
    /// accuracy on digits and dna at 0.002 was 0.940, attention pooling's 0.937 at 0.002 and 0.935 at 0.001 (better
    /// on dna, worse on digits: 0.951 against 0.966). docs/benchmarks.md has the table.
    /// </summary>
    public override ModelOptions ModelDefaults(ModelOptions model, DatasetSummary dataset) =>
        dataset.Kind == DatasetKind.Texts
            ? model with { Pooling = model.Pooling ?? PoolingKind.Attention, Bidirectional = model.Bidirectional ?? true }
            : model;

    public override TrainingOptions TrainingDefaults(TrainingOptions training, DatasetSummary dataset) =>
        training with { LearningRate = training.LearningRate ?? DefaultLearningRate };

    public override TaskPipeline Prepare(ParsedDataset data, TaskOptions task, TrainingOptions training) =>
        ClassificationPipeline.Create(data.Labelled!, task, training);

    public override ServedTask Serve(ModelSpec spec, TaskOptions task, string preprocessingJson) =>
        new ClassificationServing(spec, StoredJson.Read<SequencePreprocessing>(preprocessingJson));

    protected override void CheckLabels(ModelSpec spec, SequencePreprocessing preprocessing, List<ValidationError> errors) =>
        CheckClasses(spec, preprocessing, errors);
}
