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
        if (Preprocessing.Targets is { } targets)
        {
            var values = new double[steps][];
            for (var t = 0; t < steps; t++)
            {
                values[t] = new double[width];
                for (var k = 0; k < width; k++) values[t][k] = targets.Restore(output[t * width + k], k);
            }
            return new PredictOutput { Values = values };
        }
        var labels = new double[steps];
        var probabilities = new double[steps][];
        for (var t = 0; t < steps; t++)
        {
            probabilities[t] = SequenceMetrics.Softmax(output.Slice(t * width, width));
            var best = Array.IndexOf(probabilities[t], probabilities[t].Max());
            labels[t] = Preprocessing.Labels is { } names && best < names.Count ? names[best] : best;
        }
        return new PredictOutput { Labels = labels, Probabilities = probabilities };
    }
}
