using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

public sealed class ParameterCountTests
{
    [Theory]
    // One layer, input 128, hidden 128: gates × hidden × (input + hidden) + two bias vectors of gates × hidden.
    [InlineData(CellKind.Lstm, 132_096)]  // Keras, with one bias vector, would say 131,584
    [InlineData(CellKind.Gru, 99_072)]
    [InlineData(CellKind.Rnn, 33_024)]
    public void OneLayerWithInputAndHidden128HasPyTorchsParameterCount(CellKind cell, long recurrent)
    {
        using var model = SequenceModel.Create(new ModelSpec { Cell = cell, InputSize = 128, HiddenSize = 128, OutputSize = 1 });

        Assert.Equal(recurrent, model.Parameters.Where(p => p.Name.StartsWith("rnn.", StringComparison.Ordinal)).Sum(p => p.ElementCount));
        Assert.Equal(recurrent + 128 + 1, model.ParameterCount);  // + head.weight (1 × 128) + head.bias
    }

    [Fact]
    public void AnEmbeddingAddsVocabularyTimesDimension()
    {
        using var model = SequenceModel.Create(new ModelSpec
        {
            Cell = CellKind.Lstm, VocabularySize = 20_000, InputSize = 128, HiddenSize = 64, Bidirectional = true, OutputSize = 2,
        });

        Assert.Equal(new[] { 20_000L, 128 }, model.Parameters[0].Shape);
        Assert.Equal("embedding.weight", model.Parameters[0].Name);
        // embedding + 2 directions × (4·64·(128+64) + 2·4·64) + head (2 × 128 + 2)
        Assert.Equal(2_560_000 + 2 * (49_152 + 512) + 258, model.ParameterCount);
    }
}
