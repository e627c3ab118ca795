using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>Every bad call is a typed exception naming the problem, and the process (and engine) carry on.</summary>
public sealed class BadCallTests : IDisposable
{
    private static readonly ModelSpec FeatureSpec = new() { Cell = CellKind.Lstm, InputSize = 3, HiddenSize = 4, OutputSize = 2 };
    private static readonly ModelSpec TokenSpec = new() { Cell = CellKind.Gru, VocabularySize = 10, InputSize = 4, HiddenSize = 4, OutputSize = 2 };

    private readonly SequenceModel model = SequenceModel.Create(FeatureSpec, seed: 1);

    [Fact]
    public void AWrongFeatureCountIsAnInvalidArgumentNamingBothCounts()
    {
        var error = Assert.Throws<TorchEngineException>(() => model.Forward(SequenceBatch.FromFeatures([new float[8]], featureCount: 4)));

        Assert.Equal(EngineErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("the batch has 4 features per step, but the model expects 3", error.Message);
    }

    [Fact]
    public void AnEmptySequenceIsAnInvalidArgumentNamingItsIndex()
    {
        var error = Assert.Throws<TorchEngineException>(() => model.Forward(SequenceBatch.FromFeatures([new float[6], [], new float[3]], 3)));

        Assert.Equal(EngineErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("sequence 1 has length 0; every sequence needs at least one step", error.Message);
    }

    [Fact]
    public void ALengthBeyondThePaddingIsAnInvalidArgument()
    {
        var batch = SequenceBatch.FromPadded(new float[2 * 5 * 3], lengths: [3, 6], steps: 5, featureCount: 3);

        var error = Assert.Throws<TorchEngineException>(() => model.Forward(batch));

        Assert.Equal("sequence 1 has length 6, beyond the padded length 5", error.Message);
    }

    [Fact]
    public void ANegativeLengthIsAnInvalidArgument()
    {
        var batch = SequenceBatch.FromPadded(new float[2 * 2 * 3], lengths: [-1, 2], steps: 2, featureCount: 3);

        Assert.Contains("sequence 0 has length -1", Assert.Throws<TorchEngineException>(() => model.Forward(batch)).Message);
    }

    [Fact]
    public void ATokenOutsideTheVocabularyIsAnInvalidArgument()
    {
        using var tokens = SequenceModel.Create(TokenSpec, seed: 1);

        var error = Assert.Throws<TorchEngineException>(() => tokens.Forward(SequenceBatch.FromTokens([[1, 2], [3, 10, 4]])));

        Assert.Equal("token 10 of sequence 1 at step 1 is outside the vocabulary of 10", error.Message);
    }

    [Fact]
    public void FeaturesGivenToATokenModelAreRejected()
    {
        using var tokens = SequenceModel.Create(TokenSpec, seed: 1);

        var error = Assert.Throws<TorchEngineException>(() => tokens.Forward(SequenceBatch.FromFeatures([new float[4]], 4)));

        Assert.Contains("reads token ids", error.Message);
    }

    [Fact]
    public void AClassOutsideTheOutputsIsAnInvalidArgument()
    {
        using var trainer = new ModelTrainer(model, new TrainerOptions { Loss = LossKind.CrossEntropy });

        var error = Assert.Throws<TorchEngineException>(() =>
            trainer.Step(SequenceBatch.FromFeatures([new float[3], new float[6]], 3), BatchTargets.FromClasses([1, 5])));

        Assert.Equal("target class 5 of sequence 1 is outside 0..1", error.Message);
    }

    [Fact]
    public void TargetsOfTheWrongSizeAreRejectedBeforeTheEngineReadsThem()
    {
        using var trainer = new ModelTrainer(model, new TrainerOptions { Loss = LossKind.Mse });

        var error = Assert.Throws<ArgumentException>(() =>
            trainer.Step(SequenceBatch.FromFeatures([new float[3], new float[6]], 3), BatchTargets.FromValues([1f, 2f, 3f], count: 2)));

        Assert.Contains("2 rows of 2 target values need 4", error.Message);
    }

    [Fact]
    public void TargetsForAnotherBatchSizeAreAnInvalidArgument()
    {
        var error = Assert.Throws<TorchEngineException>(() =>
            model.Evaluate(SequenceBatch.FromFeatures([new float[3]], 3), BatchTargets.FromValues([[1f, 2f], [3f, 4f]]), LossKind.Mse));

        Assert.Equal("the targets hold 2 rows, but the batch has 1 sequences", error.Message);
    }

    [Fact]
    public void AnInvalidSpecIsRejectedNamingTheField()
    {
        var error = Assert.Throws<ArgumentException>(() => SequenceModel.Create(FeatureSpec with { HiddenSize = 0, Dropout = 1.5 }));

        Assert.Contains("hiddenSize must be between 1", error.Message);
        Assert.Contains("dropout must be at least 0 and below 1", error.Message);
    }

    [Fact]
    public void ANonPositiveLearningRateIsAnInvalidArgument()
    {
        var error = Assert.Throws<TorchEngineException>(() => new ModelTrainer(model, new TrainerOptions { LearningRate = -0.1 }));

        Assert.Equal(EngineErrorKind.InvalidArgument, error.Kind);
        Assert.StartsWith("learning rate must be positive, got -0.1", error.Message);
    }

    [Fact]
    public void AMissingCudaDeviceIsAnInvalidArgument()
    {
        var error = Assert.Throws<TorchEngineException>(() => SequenceModel.Create(FeatureSpec, EngineDevice.Cuda(99)));

        Assert.StartsWith("CUDA device 99 is not available", error.Message);
    }

    [Fact]
    public void ADisposedModelCannotBeUsed()
    {
        var disposed = SequenceModel.Create(FeatureSpec);
        disposed.Dispose();

        Assert.Throws<ObjectDisposedException>(() => disposed.Forward(SequenceBatch.FromFeatures([new float[3]], 3)));
    }

    [Fact]
    public void TheModelKeepsWorkingAfterAFailedCall()
    {
        var batch = SequenceBatch.FromFeatures([new float[3], new float[6]], 3);
        var before = model.Forward(batch).Outputs;

        Assert.Throws<TorchEngineException>(() => model.Forward(SequenceBatch.FromFeatures([new float[4]], 4)));

        Assert.Equal(before, model.Forward(batch).Outputs);
    }

    public void Dispose() => model.Dispose();
}
