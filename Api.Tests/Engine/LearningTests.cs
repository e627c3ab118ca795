using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// Training actually learns. Thresholds were measured with these seeds on this engine, and PyTorch's own loop
/// on the same tasks reaches the same (plain RNNs, the baseline, do not learn the long-memory task).
/// </summary>
public sealed class LearningTests
{
    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    public void BothCellsLearnTheSumOfAVariableLengthSequenceWithin400Steps(CellKind cell)
    {
        using var model = SequenceModel.Create(new ModelSpec { Cell = cell, InputSize = 1, HiddenSize = 16, OutputSize = 1 }, seed: 3);
        using var trainer = new ModelTrainer(model, new TrainerOptions { LearningRate = 0.01, Loss = LossKind.Mse });
        var (validation, targets) = SyntheticTasks.Sum(new Random(99), 256);
        var before = model.Evaluate(validation, targets, LossKind.Mse).Loss;

        // Adam at this rate is noisy step to step (one path's loss at step 400 can be a spike its neighbours do not have):
        // the median of the last five checkpoints, 20 steps apart, is what is judged.
        var random = new Random(5);
        var checkpoints = new List<double>();
        for (var step = 1; step <= 400; step++)
        {
            var (batch, batchTargets) = SyntheticTasks.Sum(random, 32);
            trainer.Step(batch, batchTargets);
            if (step > 300 && step % 20 == 0) checkpoints.Add(model.Evaluate(validation, targets, LossKind.Mse).Loss);
        }

        // The target's variance is about 3.5: 0.1 is under 3% of it.
        var after = checkpoints.Order().ElementAt(checkpoints.Count / 2);
        Assert.True(after < 0.1, $"{cell}: validation MSE {after:F4} (median of {string.Join(", ", checkpoints.Select(loss => loss.ToString("F4")))}) by step 400 (was {before:F4})");
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    public void BothCellsRememberTheSignOfTheFirstElementWithin1000Steps(CellKind cell)
    {
        using var model = SequenceModel.Create(new ModelSpec { Cell = cell, InputSize = 1, HiddenSize = 32, OutputSize = 2 }, seed: 3);
        using var trainer = new ModelTrainer(model, new TrainerOptions { LearningRate = 0.01, Loss = LossKind.CrossEntropy });
        var (validation, targets) = SyntheticTasks.FirstSign(new Random(99), 256, minLength: 5, maxLength: 20);

        SyntheticTasks.Train(trainer, random => SyntheticTasks.FirstSign(random, 32, minLength: 5, maxLength: 20), steps: 1000);

        var accuracy = SyntheticTasks.Accuracy(model.Forward(validation), targets.Classes!);
        Assert.True(accuracy >= 0.95, $"{cell}: validation accuracy {accuracy:F3} after 1000 steps");
    }

    [Fact]
    public void HuberLossTrainsToo()
    {
        using var model = SequenceModel.Create(new ModelSpec { Cell = CellKind.Gru, InputSize = 1, HiddenSize = 16, OutputSize = 1 }, seed: 3);
        using var trainer = new ModelTrainer(model, new TrainerOptions { LearningRate = 0.01, Loss = LossKind.Huber, Optimizer = OptimizerKind.AdamW, WeightDecay = 0.01 });
        var (validation, targets) = SyntheticTasks.Sum(new Random(99), 128);
        var before = model.Evaluate(validation, targets, LossKind.Mse).Loss;

        SyntheticTasks.Train(trainer, random => SyntheticTasks.Sum(random, 32), steps: 200);

        var after = model.Evaluate(validation, targets, LossKind.Mse).Loss;
        Assert.True(after < before / 5, $"validation MSE went from {before:F3} to {after:F3}");
    }
}
