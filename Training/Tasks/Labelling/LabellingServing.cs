using RnnService.Domain.Models;
using RnnService.Domain.Predictions;
using RnnService.Training.Tasks.Sequences;

namespace RnnService.Training.Tasks.Labelling;

/// <summary>At every step: the most probable class with every class's probability, or the values in the labels' own scale.</summary>
public sealed class LabellingServing(ModelSpec spec, SequencePreprocessing preprocessing) : SequenceServing(spec, preprocessing)
{
    protected override string TaskName => "labelling";

    public override PredictOutput Output(ReadOnlySpan<float> output, in PreparedSequence prepared, PredictRequest request)
    {
        var width = Spec.OutputSize;
        var steps = output.Length / width;
        if (Preprocessing.Targets is not null)
        {
            var values = new double[steps][];
            for (var t = 0; t < steps; t++) values[t] = Values(output.Slice(t * width, width));
            return new PredictOutput { Values = values };
        }
        var labels = new double[steps];
        var probabilities = new double[steps][];
        for (var t = 0; t < steps; t++) (labels[t], probabilities[t]) = Classify(output.Slice(t * width, width));
        return new PredictOutput { Labels = labels, Probabilities = probabilities };
    }
}
