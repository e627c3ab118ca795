using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>Weights plus optimizer state are the whole training state: a resumed run is the uninterrupted one.</summary>
public sealed class ResumeTests
{
    private static readonly ModelSpec Spec = new() { Cell = CellKind.Gru, InputSize = 1, HiddenSize = 8, NumLayers = 2, OutputSize = 1 };

    private static readonly List<(SequenceBatch Batch, BatchTargets Targets)> Batches =
        Enumerable.Range(0, 10).Select(i => SyntheticTasks.Sum(new Random(i), 16)).ToList();

    [Fact]
    public void ResumingFromSavedWeightsAndOptimizerStateContinuesBitForBit()
    {
        var uninterrupted = Train(seed: 3, from: 0, to: 10, weights: null, optimizerState: null).Weights;

        var (half, state, checkpoint) = Train(seed: 3, from: 0, to: 5, weights: null, optimizerState: null);
        var resumed = Train(seed: 99, from: 5, to: 10, weights: checkpoint, optimizerState: state).Weights;

        Assert.NotEqual(uninterrupted, half);
        Assert.Equal(uninterrupted, resumed);
    }

    [Fact]
    public void ResumingWithoutTheOptimizerStateDoesNotGiveTheSameWeights()
    {
        var uninterrupted = Train(seed: 3, from: 0, to: 10, weights: null, optimizerState: null).Weights;

        var (_, _, checkpoint) = Train(seed: 3, from: 0, to: 5, weights: null, optimizerState: null);
        var freshAdam = Train(seed: 3, from: 5, to: 10, weights: checkpoint, optimizerState: null).Weights;

        Assert.NotEqual(uninterrupted, freshAdam);
    }

    [Fact]
    public void ALoweredLearningRateTakesEffectOnTheNextStep()
    {
        using var model = SequenceModel.Create(Spec, seed: 3);
        using var trainer = new ModelTrainer(model, new TrainerOptions { LearningRate = 0.01 });
        var start = model.GetStateDict().SelectMany(t => t.Values).ToArray();

        trainer.LearningRate = 1e-12;
        trainer.Step(Batches[0].Batch, Batches[0].Targets);
        var afterTinyStep = model.GetStateDict().SelectMany(t => t.Values).ToArray();
        trainer.LearningRate = 0.01;
        trainer.Step(Batches[1].Batch, Batches[1].Targets);
        var afterNormalStep = model.GetStateDict().SelectMany(t => t.Values).ToArray();

        // Adam moves every weight by about the learning rate: 1e-12 leaves them as they were, 0.01 does not.
        Assert.True(start.Zip(afterTinyStep).Max(p => Math.Abs(p.First - p.Second)) < 1e-6);
        Assert.True(afterTinyStep.Zip(afterNormalStep).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
        Assert.Equal(0.01, trainer.LearningRate);
    }

    [Fact]
    public void ANonPositiveLearningRateIsRefusedAndTheOldOneKept()
    {
        using var model = SequenceModel.Create(Spec, seed: 3);
        using var trainer = new ModelTrainer(model, new TrainerOptions { LearningRate = 0.01 });

        var error = Assert.Throws<TorchEngineException>(() => trainer.LearningRate = 0);

        Assert.StartsWith("learning rate must be positive, got 0", error.Message);
        Assert.Equal(0.01, trainer.LearningRate);
    }

    [Fact]
    public void DamagedOptimizerStateIsAnEngineError()
    {
        using var model = SequenceModel.Create(Spec, seed: 3);
        using var trainer = new ModelTrainer(model, new TrainerOptions());

        var error = Assert.Throws<TorchEngineException>(() => trainer.LoadState("not an archive"u8));

        Assert.Equal(EngineErrorKind.EngineFailure, error.Kind);
    }

    private static (float[] Weights, byte[] OptimizerState, byte[] Checkpoint) Train(
        long seed, int from, int to, byte[]? weights, byte[]? optimizerState)
    {
        using var model = SequenceModel.Create(Spec, seed: seed);
        if (weights is not null) model.LoadWeights(new MemoryStream(weights));
        using var trainer = new ModelTrainer(model, new TrainerOptions { LearningRate = 0.01 });
        if (optimizerState is not null) trainer.LoadState(optimizerState);

        for (var step = from; step < to; step++) trainer.Step(Batches[step].Batch, Batches[step].Targets);

        using var checkpoint = new MemoryStream();
        model.SaveWeights(checkpoint);
        return (model.GetStateDict().SelectMany(t => t.Values).ToArray(), trainer.SaveState(), checkpoint.ToArray());
    }
}
