using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

public sealed class PaddingTests
{
    public static TheoryData<CellKind, bool> Cells() => new()
    {
        { CellKind.Lstm, false }, { CellKind.Lstm, true }, { CellKind.Gru, false }, { CellKind.Gru, true }, { CellKind.Rnn, true },
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void ASequenceGivesTheSameOutputAloneAndInAPaddedBatchWithLongerOnes(CellKind cell, bool bidirectional)
    {
        var spec = new ModelSpec { Cell = cell, InputSize = 2, HiddenSize = 6, NumLayers = 2, Bidirectional = bidirectional, OutputSize = 3 };
        using var model = SequenceModel.Create(spec, seed: 5);
        var random = new Random(8);
        var sequences = new[] { 4, 30, 1, 17 }
            .Select(length => Enumerable.Range(0, length * 2).Select(_ => random.NextSingle() * 2 - 1).ToArray())
            .ToList();

        var together = model.Forward(SequenceBatch.FromFeatures(sequences, 2), returnStates: true);

        for (var i = 0; i < sequences.Count; i++)
        {
            var alone = model.Forward(SequenceBatch.FromFeatures([sequences[i]], 2), returnStates: true);
            Tolerance.AssertClose(alone.Output(0), together.Output(i), 1e-6, $"output of sequence {i}");
            Tolerance.AssertClose(alone.StatesOf(0), together.StatesOf(i), 1e-6, $"states of sequence {i}");
        }
    }

    [Fact]
    public void WhatThePaddingHoldsNeverReachesTheOutput()
    {
        var spec = new ModelSpec { Cell = CellKind.Gru, InputSize = 1, HiddenSize = 4, Bidirectional = true, OutputSize = 1 };
        using var model = SequenceModel.Create(spec, seed: 5);
        // two sequences of lengths 2 and 3, padded to 6 steps with NaN
        float[] features = [0.5f, -1f, float.NaN, float.NaN, float.NaN, float.NaN, 1f, 2f, 3f, float.NaN, float.NaN, float.NaN];

        var result = model.Forward(SequenceBatch.FromPadded(features, [2, 3], steps: 6, featureCount: 1));
        var clean = model.Forward(SequenceBatch.FromFeatures([[0.5f, -1f], [1f, 2f, 3f]], 1));

        Assert.All(result.Outputs, value => Assert.True(float.IsFinite(value)));
        Tolerance.AssertClose(clean.Outputs, result.Outputs, 1e-6, "outputs");
    }
}
