using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// A per-step (labelling) model's loss is over each sequence's real steps only, whatever the padding holds; and such a
/// model learns a task that needs its memory at every step.
/// </summary>
public sealed class PerStepTests
{
    private static readonly long[] Lengths = [2, 5, 3];

    private static SequenceBatch Batch(float padding)
    {
        const int steps = 5;
        var random = new Random(5);
        var features = new float[Lengths.Length * steps * 2];
        for (var i = 0; i < Lengths.Length; i++)
        for (var t = 0; t < steps; t++)
        for (var f = 0; f < 2; f++)
            features[(i * steps + t) * 2 + f] = t < Lengths[i] ? (float)random.NextDouble() * 2 - 1 : padding;
        return SequenceBatch.FromPadded(features, Lengths, steps, 2);
    }

    private static SequenceModel Model(int outputs) =>
        SequenceModel.Create(new ModelSpec { Cell = CellKind.Gru, InputSize = 2, HiddenSize = 4, Bidirectional = true, OutputSize = outputs, PerStep = true }, seed: 11);

    [Fact]
    public void TheCrossEntropyIsTheMeanOverRealStepsAndIgnoresWhatThePaddingHolds()
    {
        using var model = Model(outputs: 3);
        // Classes at padded steps are out of range on purpose: they must not be read.
        long[][] real = [[0, 2], [1, 1, 0, 2, 1], [2, 0, 1]];
        var batchTargets = BatchTargets.FromStepClasses(real, steps: 5);
        for (var i = 0; i < real.Length; i++)
            for (var t = real[i].Length; t < 5; t++) batchTargets.Classes![i * 5 + t] = 99;

        var evaluation = model.Evaluate(Batch(padding: 0), batchTargets, LossKind.CrossEntropy);
        var withOtherPadding = model.Evaluate(Batch(padding: 1e6f), batchTargets, LossKind.CrossEntropy);

        // The same loss, computed here from the outputs at the 10 real steps.
        var forward = model.Forward(Batch(padding: 0));
        double sum = 0;
        for (var i = 0; i < real.Length; i++)
        {
            var outputs = forward.Output(i);
            for (var t = 0; t < real[i].Length; t++)
            {
                var logits = outputs.Slice(t * 3, 3).ToArray();
                var max = logits.Max();
                var logSum = max + Math.Log(logits.Sum(v => Math.Exp(v - max)));
                sum += logSum - logits[real[i][t]];
            }
        }
        Assert.Equal(sum / 10, evaluation.Loss, 5);
        Assert.Equal(evaluation.Loss, withOtherPadding.Loss, 6);
        Assert.Equal(Lengths.Length * 5 * 3, evaluation.Outputs.Length);
        // Past each length the outputs are zeros.
        Assert.All(evaluation.Outputs.AsSpan((0 * 5 + 2) * 3, 3 * 3).ToArray(), value => Assert.Equal(0f, value));
    }

    [Fact]
    public void TheMeanSquaredErrorIsOverRealStepsOnly()
    {
        using var model = Model(outputs: 2);
        var random = new Random(3);
        var sequences = Lengths.Select(length => Enumerable.Range(0, (int)length * 2).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        var targets = BatchTargets.FromStepValues(sequences, steps: 5, outputs: 2);
        // Padded values are NaN: read, they would make the loss NaN.
        for (var i = 0; i < Lengths.Length; i++)
            for (var k = (int)Lengths[i] * 2; k < 10; k++) targets.Values![i * 10 + k] = float.NaN;

        var evaluation = model.Evaluate(Batch(padding: 0), targets, LossKind.Mse);

        var forward = model.Forward(Batch(padding: 0));
        double squared = 0;
        for (var i = 0; i < Lengths.Length; i++)
        {
            var outputs = forward.Output(i);
            for (var k = 0; k < outputs.Length; k++) squared += Math.Pow(outputs[k] - sequences[i][k], 2);
        }
        Assert.Equal(squared / (10 * 2), evaluation.Loss, 5);
    }

    [Fact]
    public void APerStepModelMayNotPool()
    {
        var error = Assert.Throws<ArgumentException>(() => SequenceModel.Create(
            new ModelSpec { Cell = CellKind.Lstm, InputSize = 1, OutputSize = 2, PerStep = true, Pooling = PoolingKind.Mean }));

        Assert.Contains("pooling is mean, but a labelling model reads every step's output", error.Message);
    }

    /// <summary>Each step's label is the sign of the input two steps back: right only with memory, at every step.</summary>
    [Fact]
    public void ALabellingModelLearnsTheSignTwoStepsBackWithin300Steps()
    {
        using var model = SequenceModel.Create(new ModelSpec { Cell = CellKind.Lstm, InputSize = 1, HiddenSize = 16, OutputSize = 2, PerStep = true }, seed: 3);
        using var trainer = new ModelTrainer(model, new TrainerOptions { LearningRate = 0.02, Loss = LossKind.CrossEntropy });
        static (SequenceBatch Batch, long[][] Labels) Task(Random random, int count)
        {
            var sequences = new float[count][];
            var labels = new long[count][];
            for (var i = 0; i < count; i++)
            {
                var length = random.Next(4, 16);
                sequences[i] = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                labels[i] = Enumerable.Range(0, length).Select(t => t >= 2 && sequences[i][t - 2] > 0 ? 1L : 0L).ToArray();
            }
            return (SequenceBatch.FromFeatures(sequences, 1), labels);
        }

        var random = new Random(1);
        for (var step = 0; step < 300; step++)
        {
            var (batch, labels) = Task(random, 32);
            trainer.Step(batch, BatchTargets.FromStepClasses(labels, batch.Steps));
        }

        var (validation, truth) = Task(new Random(99), 200);
        var forward = model.Forward(validation);
        int right = 0, total = 0;
        for (var i = 0; i < truth.Length; i++)
        {
            var outputs = forward.Output(i);
            for (var t = 0; t < truth[i].Length; t++, total++)
                if ((outputs[t * 2 + 1] > outputs[t * 2] ? 1 : 0) == truth[i][t]) right++;
        }
        var accuracy = right / (double)total;
        Assert.True(accuracy >= 0.95, $"per-step accuracy {accuracy:F3} after 300 steps");
    }
}
