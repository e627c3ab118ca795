using RnnService.Domain.Models;
using RnnService.Training.Torch;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// A small classification problem of mixed lengths (1 to 23 steps) for comparing training steps between paths and
/// devices, and the few Adam steps those comparisons take.
/// </summary>
internal static class TrainingProblem
{
    public static readonly TrainerOptions Options = new() { Loss = LossKind.CrossEntropy, LearningRate = 0.01 };

    public static (ModelSpec Spec, SequenceBatch Batch, BatchTargets Targets) MixedLengths(
        CellKind cell, bool bidirectional, PoolingKind pooling = PoolingKind.Last)
    {
        var spec = new ModelSpec
        {
            Cell = cell, InputSize = 3, HiddenSize = 8, NumLayers = 2, Bidirectional = bidirectional, OutputSize = 2, Dropout = 0,
            Pooling = pooling,
        };
        var random = new Random(3);
        var sequences = new[] { 9, 1, 23, 5, 14 }
            .Select(length => Enumerable.Range(0, length * 3).Select(_ => random.NextSingle() * 2 - 1).ToArray())
            .ToList();
        return (spec, SequenceBatch.FromFeatures(sequences, 3), BatchTargets.FromClasses([0, 1, 1, 0, 1]));
    }

    /// <summary>The weights after <paramref name="steps"/> steps from seed 11, on that device and path (the model's own by default).</summary>
    public static StateDict Train(
        ModelSpec spec, SequenceBatch batch, BatchTargets targets, EngineDevice? device = null, SequencePath? path = null, int steps = 3)
    {
        using var model = SequenceModel.Create(spec, device, seed: 11);
        if (path is not null) model.SequencePath = path.Value;
        using var trainer = new ModelTrainer(model, Options);
        for (var step = 0; step < steps; step++) trainer.Step(batch, targets);
        return model.GetStateDict();
    }
}
