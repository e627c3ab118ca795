using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Models;
using RnnService.Training.Torch;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Api.Tests.Engine;

public sealed class PaddingTests
{
    public static TheoryData<CellKind, bool, SequencePath> Cells()
    {
        var cells = new TheoryData<CellKind, bool, SequencePath>();
        foreach (var path in new[] { SequencePath.Auto, SequencePath.Packed, SequencePath.Padded, SequencePath.Fused })
        foreach (var (cell, bidirectional) in new[] { (CellKind.Lstm, false), (CellKind.Lstm, true), (CellKind.Gru, false), (CellKind.Gru, true), (CellKind.Rnn, true) })
            cells.Add(cell, bidirectional, path);
        return cells;
    }

    public static TheoryData<SequencePath> Paths() => [SequencePath.Auto, SequencePath.Packed, SequencePath.Padded, SequencePath.Fused];

    public static TheoryData<PoolingKind, SequencePath> PoolingsAndPaths()
    {
        var cases = new TheoryData<PoolingKind, SequencePath>();
        foreach (var pooling in Enum.GetValues<PoolingKind>())
        foreach (var path in new[] { SequencePath.Auto, SequencePath.Packed, SequencePath.Padded, SequencePath.Fused })
            cases.Add(pooling, path);
        return cases;
    }

    [Theory]
    [MemberData(nameof(PoolingsAndPaths))]
    public void EveryPoolingGivesASequenceTheSameOutputAloneAndInAPaddedBatch(PoolingKind pooling, SequencePath path)
    {
        var spec = new ModelSpec
        {
            Cell = CellKind.Lstm, InputSize = 2, HiddenSize = 6, NumLayers = 2, Bidirectional = true, OutputSize = 3, Pooling = pooling,
        };
        using var model = SequenceModel.Create(spec, seed: 5);
        model.SequencePath = path;
        var sequences = MixedSequences(seed: 9);

        var together = model.Forward(SequenceBatch.FromFeatures(sequences, 2));
        // NaN in the padding of the same batch: masked out of every pooling, never a NaN output.
        var steps = sequences.Max(sequence => sequence.Length / 2);
        var poisoned = Enumerable.Repeat(float.NaN, sequences.Count * steps * 2).ToArray();
        for (var i = 0; i < sequences.Count; i++) sequences[i].CopyTo(poisoned, i * steps * 2);
        var padded = model.Forward(SequenceBatch.FromPadded(poisoned, sequences.Select(s => (long)s.Length / 2).ToArray(), steps, 2));

        for (var i = 0; i < sequences.Count; i++)
        {
            var alone = model.Forward(SequenceBatch.FromFeatures([sequences[i]], 2));
            Tolerance.AssertClose(alone.Output(0), together.Output(i), 1e-6, $"{pooling}: output of sequence {i}");
            Tolerance.AssertClose(alone.Output(0), padded.Output(i), 1e-6, $"{pooling}: output of sequence {i} beside NaN padding");
        }
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void ASequenceGivesTheSameOutputAloneAndInAPaddedBatchWithLongerOnes(CellKind cell, bool bidirectional, SequencePath path)
    {
        var spec = new ModelSpec { Cell = cell, InputSize = 2, HiddenSize = 6, NumLayers = 2, Bidirectional = bidirectional, OutputSize = 3 };
        using var model = SequenceModel.Create(spec, seed: 5);
        model.SequencePath = path;
        var sequences = MixedSequences(seed: 8);

        var together = model.Forward(SequenceBatch.FromFeatures(sequences, 2), returnStates: true);

        for (var i = 0; i < sequences.Count; i++)
        {
            var alone = model.Forward(SequenceBatch.FromFeatures([sequences[i]], 2), returnStates: true);
            Tolerance.AssertClose(alone.Output(0), together.Output(i), 1e-6, $"output of sequence {i}");
            Tolerance.AssertClose(alone.StatesOf(0), together.StatesOf(i), 1e-6, $"states of sequence {i}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void WhatThePaddingHoldsNeverReachesTheOutput(SequencePath path)
    {
        var spec = new ModelSpec { Cell = CellKind.Gru, InputSize = 1, HiddenSize = 4, Bidirectional = true, OutputSize = 1 };
        using var model = SequenceModel.Create(spec, seed: 5);
        model.SequencePath = path;
        // two sequences of lengths 2 and 3, padded to 6 steps with NaN
        float[] features = [0.5f, -1f, float.NaN, float.NaN, float.NaN, float.NaN, 1f, 2f, 3f, float.NaN, float.NaN, float.NaN];

        var result = model.Forward(SequenceBatch.FromPadded(features, [2, 3], steps: 6, featureCount: 1));
        var clean = model.Forward(SequenceBatch.FromFeatures([[0.5f, -1f], [1f, 2f, 3f]], 1));

        Assert.All(result.Outputs, value => Assert.True(float.IsFinite(value)));
        Tolerance.AssertClose(clean.Outputs, result.Outputs, 1e-6, "outputs");
    }

    /// <summary>Four sequences of 4, 30, 1 and 17 steps of two features in [-1, 1].</summary>
    private static List<float[]> MixedSequences(int seed)
    {
        var random = new Random(seed);
        return new[] { 4, 30, 1, 17 }
            .Select(length => Enumerable.Range(0, length * 2).Select(_ => random.NextSingle() * 2 - 1).ToArray())
            .ToList();
    }

    /// <summary>
    /// Training runs padded on the CPU (libtorch's packed backward is quadratic in the length there): its gradients
    /// must be the packed ones, through libtorch's operators and (LSTMs and GRUs) through the shim's fused layers. A few
    /// Adam steps on mixed lengths leave the same weights every way.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Lstm, true, PoolingKind.Last)]
    [InlineData(CellKind.Gru, false, PoolingKind.Last)]
    [InlineData(CellKind.Rnn, true, PoolingKind.Last)]
    [InlineData(CellKind.Lstm, true, PoolingKind.Mean)]
    [InlineData(CellKind.Gru, true, PoolingKind.Max)]
    [InlineData(CellKind.Lstm, true, PoolingKind.Attention)]
    [InlineData(CellKind.Gru, false, PoolingKind.Attention)]
    public void TrainingStepsGiveTheSameWeightsPackedAndPadded(CellKind cell, bool bidirectional, PoolingKind pooling)
    {
        var (spec, batch, targets) = TrainingProblem.MixedLengths(cell, bidirectional, pooling);

        var packed = TrainingProblem.Train(spec, batch, targets, path: SequencePath.Packed);
        var padded = TrainingProblem.Train(spec, batch, targets, path: SequencePath.Padded);
        var fused = TrainingProblem.Train(spec, batch, targets, path: SequencePath.Fused);  // LSTMs and GRUs: the shim's own layers
        using var fresh = SequenceModel.Create(spec, seed: 11);
        var initial = fresh.GetStateDict();
        // attention.bias shifts every step's score alike, which a softmax cancels: its gradient is zero but for rounding,
        // and Adam scales rounding up to a full step. It changes no output; it is not compared.
        foreach (var tensor in packed.Where(tensor => tensor.Name != "attention.bias"))
        {
            Assert.NotEqual(initial[tensor.Name].Values, tensor.Values);  // the steps moved it
            Tolerance.AssertClose(tensor.Values, padded[tensor.Name].Values, 1e-5, tensor.Name);
            Tolerance.AssertClose(tensor.Values, fused[tensor.Name].Values, 1e-5, tensor.Name + " (fused path)");
        }
    }
}
