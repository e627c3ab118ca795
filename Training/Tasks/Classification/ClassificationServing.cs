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
        var probabilities = SequenceMetrics.Softmax(output);
        var best = Array.IndexOf(probabilities, probabilities.Max());
        var labels = Preprocessing.Labels;
        return new PredictOutput { Label = labels is not null && best < labels.Count ? labels[best] : best, Probabilities = probabilities };
    }
}
