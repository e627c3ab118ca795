using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;
using RnnService.Training.Tasks.Sequences;

namespace RnnService.Training.Tasks.Regression;

/// <summary>A number, or a fixed list of numbers, for each sequence or text: MSE on standardised targets, MAE and RMSE.</summary>
public sealed class RegressionTask : SequenceInputTask
{
    public override TaskKind Kind => TaskKind.Regression;

    protected override string? LabelProblem(LabelSummary labels) => null;

    public override TaskPipeline Prepare(ParsedDataset data, TaskOptions task, TrainingOptions training) =>
        RegressionPipeline.Create(data.Labelled!, task, training);

    public override ServedTask Serve(ModelSpec spec, TaskOptions task, string preprocessingJson) =>
        new RegressionServing(spec, StoredJson.Read<SequencePreprocessing>(preprocessingJson));

    protected override void CheckLabels(ModelSpec spec, SequencePreprocessing preprocessing, List<ValidationError> errors) =>
        CheckNumbers(spec, preprocessing, errors);
}
