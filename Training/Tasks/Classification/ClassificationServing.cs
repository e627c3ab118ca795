using RnnService.Domain.Models;
using RnnService.Domain.Predictions;
using RnnService.Training.Tasks.Sequences;

namespace RnnService.Training.Tasks.Classification;

/// <summary>The most probable class, as labelled in the training data, and every class's probability.</summary>
public sealed class ClassificationServing(ModelSpec spec, SequencePreprocessing preprocessing) : SequenceServing(spec, preprocessing)
{
    protected override string TaskName => "classification";

    public override PredictOutput Output(ReadOnlySpan<float> output, in PreparedSequence prepared, PredictRequest request)
    {
        var (label, probabilities) = Classify(output);
        return new PredictOutput { Label = label, Probabilities = probabilities };
    }
}
