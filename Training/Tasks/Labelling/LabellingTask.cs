using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;
using RnnService.Training.Tasks.Sequences;

namespace RnnService.Training.Tasks.Labelling;

/// <summary>
/// Sequence labelling (many-to-many, synchronous): a class or numbers at every step of a sequence or token list. The head
/// reads every step's output; the loss is over the real steps only; metrics are per step; bidirectional by default,
/// since a step's label may depend on what follows it (measured in README's real-data table).
/// </summary>
public sealed class LabellingTask : SequenceInputTask
{
    public override TaskKind Kind => TaskKind.Labelling;

    public override bool PerStep => true;

    protected override string Needs => "a dataset with a label per step (JSON lines of \"sequence\" or \"tokens\" with \"labels\")";

    protected override string? LabelProblem(LabelSummary labels) =>
        labels.Kind == LabelKind.Class && labels.Classes!.Count < 2
            ? $"labelling with classes needs at least two classes; this dataset's steps have {labels.Classes.Count}."
            : null;

    public override ModelOptions ModelDefaults(ModelOptions model, DatasetSummary dataset) =>
        model with { Bidirectional = model.Bidirectional ?? true };

    public override TaskPipeline Prepare(ParsedDataset data, TaskOptions task, TrainingOptions training) =>
        LabellingPipeline.Create(data.Labelled!, data.Summary.Labels!.Kind == LabelKind.Class, task, training);

    public override ServedTask Serve(ModelSpec spec, TaskOptions task, string preprocessingJson) =>
        new LabellingServing(spec, StoredJson.Read<SequencePreprocessing>(preprocessingJson));

    protected override void CheckLabels(ModelSpec spec, SequencePreprocessing preprocessing, List<ValidationError> errors)
    {
        if (preprocessing.Targets is not null) CheckNumbers(spec, preprocessing, errors);
        else CheckClasses(spec, preprocessing, errors);
    }
}
