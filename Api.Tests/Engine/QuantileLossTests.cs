using System.Globalization;
using System.Text.Json;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// The quantile (pinball) loss: the engine's value is PyTorch's on the same outputs, targets and levels; a model trained
/// with it puts each level's output where that share of targets falls below; and bad levels are refused.
/// </summary>
public sealed class QuantileLossTests
{
    private static readonly double[] Levels = [0.1, 0.5, 0.9];

    private static SequenceModel Model(int outputs) =>
        SequenceModel.Create(new ModelSpec { Cell = CellKind.Lstm, InputSize = 1, HiddenSize = 8, OutputSize = outputs }, seed: 3);

    [Fact]
    public void TheLossIsPyTorchsPinballLossOverTargetsAndLevels()
    {
        using var model = Model(outputs: 2 * Levels.Length);
        var random = new Random(7);
        var sequences = Enumerable.Range(0, 5).Select(i => Enumerable.Range(0, 3 + i).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray()).ToArray();
        var targets = Enumerable.Range(0, 5).Select(_ => new[] { (float)random.NextDouble() * 2 - 1, (float)random.NextDouble() * 4 - 2 }).ToArray();

        var evaluation = model.Evaluate(SequenceBatch.FromFeatures(sequences, 1), BatchTargets.FromValues(targets, Levels), LossKind.Quantile);

        var code = """
            import json, sys, torch
            outputs = torch.tensor(json.loads(sys.argv[1])).view(5, 2, 3)
            targets = torch.tensor(json.loads(sys.argv[2])).view(5, 2, 1)
            levels = torch.tensor(json.loads(sys.argv[3]))
            error = targets - outputs
            print(repr(torch.max(levels * error, (levels - 1) * error).mean().item()))
            """;
        var expected = double.Parse(PyTorch.RunCode(code, JsonSerializer.Serialize(evaluation.Outputs),
            JsonSerializer.Serialize(targets.SelectMany(t => t)), JsonSerializer.Serialize(Levels)).Trim(), CultureInfo.InvariantCulture);
        Assert.Equal(expected, evaluation.Loss, 5);
        Assert.True(evaluation.Loss > 0);
    }

    [Fact]
    public void TrainedOnNoiseEachLevelsOutputHasThatShareOfTargetsBelowIt()
    {
        // The target is uniform noise on [0, 1) whatever the input: its quantiles are the levels themselves.
        using var model = Model(outputs: Levels.Length);
        using var trainer = new ModelTrainer(model, new TrainerOptions { Loss = LossKind.Quantile, LearningRate = 0.02 });
        var random = new Random(11);
        float[][] Inputs() => Enumerable.Range(0, 64).Select(_ => new[] { (float)random.NextDouble(), (float)random.NextDouble() }).ToArray();
        for (var step = 0; step < 400; step++)
        {
            var inputs = Inputs();
            trainer.Step(SequenceBatch.FromFeatures(inputs, 1),
                BatchTargets.FromValues(inputs.Select(_ => new[] { (float)random.NextDouble() }).ToList(), Levels));
        }
        var probe = Inputs();
        var outputs = model.Forward(SequenceBatch.FromFeatures(probe, 1));
        for (var q = 0; q < Levels.Length; q++)
        {
            var mean = Enumerable.Range(0, probe.Length).Average(i => outputs.Output(i)[q]);
            Assert.InRange(mean, Levels[q] - 0.08, Levels[q] + 0.08);
        }
    }

    [Theory]
    [InlineData(new[] { 0.0, 0.5, 0.9 }, "outside (0, 1)")]
    [InlineData(new[] { 0.1, 0.5, 1.0 }, "outside (0, 1)")]
    [InlineData(new[] { 0.1, 0.9 }, "not a whole number of 2 quantiles")]
    public void LevelsOutsideTheOpenIntervalOrThatDoNotDivideTheOutputsAreRefused(double[] levels, string message)
    {
        using var model = Model(outputs: 3);
        var error = Assert.Throws<TorchEngineException>(() => model.Evaluate(
            SequenceBatch.FromFeatures([[0.5f]], 1), BatchTargets.FromValues([new[] { 0.5f, 0.5f, 0.5f }.Take(3 / levels.Length).ToArray()], levels),
            LossKind.Quantile));
        Assert.Contains(message, error.Message);
    }
}
