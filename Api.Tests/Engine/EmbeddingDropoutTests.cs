using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>Dropout on embedded tokens acts in training only, and only where there is an embedding.</summary>
public sealed class EmbeddingDropoutTests
{
    private static ModelSpec Spec(double dropout) =>
        new() { Cell = CellKind.Lstm, InputSize = 4, HiddenSize = 6, VocabularySize = 20, OutputSize = 3, EmbeddingDropout = dropout };

    private static readonly SequenceBatch Batch = SequenceBatch.FromTokens([[3L, 5, 7, 9], [2L, 4]]);

    [Fact]
    public void ItChangesTrainingStepsButNotInference()
    {
        using var plain = SequenceModel.Create(Spec(0), seed: 5);
        using var dropped = SequenceModel.Create(Spec(0.5), seed: 5);

        Assert.Equal(plain.Forward(Batch).Outputs, dropped.Forward(Batch).Outputs);

        var targets = BatchTargets.FromClasses([0L, 2L]);
        TorchEngine.SetSeed(9);
        using (var trainer = new ModelTrainer(plain, new TrainerOptions { Loss = LossKind.CrossEntropy })) trainer.Step(Batch, targets);
        TorchEngine.SetSeed(9);
        using (var trainer = new ModelTrainer(dropped, new TrainerOptions { Loss = LossKind.CrossEntropy })) trainer.Step(Batch, targets);
        Assert.NotEqual(plain.Forward(Batch).Outputs, dropped.Forward(Batch).Outputs);
    }

    [Fact]
    public void AModelWithoutAnEmbeddingHasNone()
    {
        var error = Assert.Throws<ArgumentException>(() => SequenceModel.Create(new ModelSpec { Cell = CellKind.Gru, InputSize = 2, OutputSize = 1, EmbeddingDropout = 0.3 }));

        Assert.Contains("embeddingDropout applies to token models (texts, token lists) only.", error.Message);
    }
}
