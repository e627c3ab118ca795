using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

public sealed class DeterminismTests
{
    private static readonly ModelSpec Spec = new()
    {
        Cell = CellKind.Lstm, InputSize = 1, HiddenSize = 8, NumLayers = 2, Dropout = 0.3, OutputSize = 1,
    };

    [Fact]
    public void TheSameSeedGivesBitIdenticalWeightsAfterTraining()
    {
        var first = TrainAndRead(seed: 11);
        var second = TrainAndRead(seed: 11);

        Assert.Equal(first.Length, second.Length);
        Assert.True(first.AsSpan().SequenceEqual(second), "two runs with the same seed ended with different weights");
    }

    [Fact]
    public void ADifferentSeedGivesDifferentWeights()
    {
        Assert.False(TrainAndRead(seed: 11).AsSpan().SequenceEqual(TrainAndRead(seed: 12)));
    }

    /// <summary>
    /// What serving promises: a sequence's answer does not depend on the requests batched with it. Each sequence's outputs
    /// and states are bit-identical alone and in batches of 2, 7 and 12 (sorted longest first, as the batcher sends them, so
    /// every count of running rows goes through the recurrent product's kernel), on the CPU's default path.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    public void ASequencesAnswerDoesNotDependOnItsBatchMates(CellKind cell)
    {
        var spec = new ModelSpec { Cell = cell, InputSize = 3, HiddenSize = 20, NumLayers = 2, OutputSize = 2 };
        using var model = SequenceModel.Create(spec, seed: 5);
        var random = new Random(3);
        var sequences = Enumerable.Range(0, 13)
            .Select(_ => Enumerable.Range(0, random.Next(1, 40) * 3).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray())
            .OrderByDescending(sequence => sequence.Length).ToList();
        for (var i = 0; i < sequences.Count; i++)
        {
            var alone = model.Forward(SequenceBatch.FromFeatures([sequences[i]], 3), returnStates: true);
            for (var size = 2; size <= sequences.Count; size += 5)
            {
                var start = Math.Max(0, Math.Min(i - size / 2, sequences.Count - size));
                var together = model.Forward(SequenceBatch.FromFeatures(sequences.GetRange(start, size), 3), returnStates: true);
                Assert.True(alone.Output(0).SequenceEqual(together.Output(i - start)), $"sequence {i}: output differs in a batch of {size}");
                Assert.True(alone.StatesOf(0).SequenceEqual(together.StatesOf(i - start)), $"sequence {i}: states differ in a batch of {size}");
            }
        }
    }

    private static float[] TrainAndRead(long seed)
    {
        using var model = SequenceModel.Create(Spec, seed: seed);
        using var trainer = new ModelTrainer(model, new TrainerOptions { LearningRate = 0.01 });
        TorchEngine.SetSeed((ulong)seed);  // dropout draws from the same generator
        var random = new Random(1);
        for (var step = 0; step < 20; step++)
        {
            var (batch, targets) = SyntheticTasks.Sum(random, 16);
            trainer.Step(batch, targets);
        }

        return model.GetStateDict().SelectMany(tensor => tensor.Values).ToArray();
    }
}
