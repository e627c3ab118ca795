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

    /// <summary>The learning rate of text classifiers, chosen with <see cref="ModelDefaults"/>.</summary>
    public const double TextLearningRate = 0.002;

    /// <summary>
    /// Texts are read in both directions with attention pooling: of the settings README's real-data table compares, the
    /// best by validation accuracy averaged over its two corpora (with <see cref="TextLearningRate"/>). Sequences of
    /// numbers keep the family's defaults (the last state of one direction), which measured best or even on them.
    /// </summary>
    public override ModelOptions ModelDefaults(ModelOptions model, DatasetSummary dataset) =>
        dataset.Kind == DatasetKind.Texts
            ? model with { Pooling = model.Pooling ?? PoolingKind.Attention, Bidirectional = model.Bidirectional ?? true }
            : model;

    public override TrainingOptions TrainingDefaults(TrainingOptions training, DatasetSummary dataset) =>
        dataset.Kind == DatasetKind.Texts ? training with { LearningRate = training.LearningRate ?? TextLearningRate } : training;

    public override TaskPipeline Prepare(ParsedDataset data, TaskOptions task, TrainingOptions training) =>
        ClassificationPipeline.Create(data.Labelled!, task, training);

    public override ServedTask Serve(ModelSpec spec, TaskOptions task, string preprocessingJson) =>
        new ClassificationServing(spec, StoredJson.Read<SequencePreprocessing>(preprocessingJson));

    protected override void CheckLabels(ModelSpec spec, SequencePreprocessing preprocessing, List<ValidationError> errors) =>
        CheckClasses(spec, preprocessing, errors);
}
