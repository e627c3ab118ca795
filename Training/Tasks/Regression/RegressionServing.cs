using RnnService.Domain.Models;
using RnnService.Domain.Predictions;
using RnnService.Training.Tasks.Sequences;

namespace RnnService.Training.Tasks.Regression;

/// <summary>The predicted values in the labels' own scale.</summary>
public sealed class RegressionServing(ModelSpec spec, SequencePreprocessing preprocessing) : SequenceServing(spec, preprocessing)
{
    protected override string TaskName => "regression";

    public override PredictOutput Output(ReadOnlySpan<float> output, in PreparedSequence prepared, PredictRequest request) =>
        new() { Values = Values(output) };
}
