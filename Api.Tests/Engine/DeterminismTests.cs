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
