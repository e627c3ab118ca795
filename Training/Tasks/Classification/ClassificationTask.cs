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
    /// Texts are read with attention pooling: on README's real corpora it is within a few points of naive Bayes where the
    /// last state is ten or more behind; sequences of numbers keep the last state, which measured best on them.
    /// </summary>
    public override ModelOptions ModelDefaults(ModelOptions model, DatasetSummary dataset) =>
        dataset.Kind == DatasetKind.Texts ? model with { Pooling = model.Pooling ?? PoolingKind.Attention } : model;

    public override TaskPipeline Prepare(ParsedDataset data, TaskOptions task, TrainingOptions training) =>
        ClassificationPipeline.Create(data.Labelled!, task, training);

    public override ServedTask Serve(ModelSpec spec, TaskOptions task, string preprocessingJson) =>
        new ClassificationServing(spec, StoredJson.Read<SequencePreprocessing>(preprocessingJson));

    protected override void CheckLabels(ModelSpec spec, SequencePreprocessing preprocessing, List<ValidationError> errors) =>
        CheckClasses(spec, preprocessing, errors);
}
