using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// The shim's fused layers on the CPU (LSTM inference and training, GRU training) against libtorch's own packed LSTM and
/// GRU: the same outputs and states, and the same weights after training steps, on long sequences of mixed lengths,
/// where an approximation's error would build up step after step. PyTorch parity on
/// every LSTM case is in <see cref="PyTorchParityTests"/>, padding independence in <see cref="PaddingTests"/>.
/// </summary>
public sealed class FusedLayerTests
{
    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    public void LongMixedSequencesGiveLibtorchsOutputsAndStates(bool bidirectional, int layers)
    {
        var spec = new ModelSpec { Cell = CellKind.Lstm, InputSize = 8, HiddenSize = 64, NumLayers = layers, Bidirectional = bidirectional, OutputSize = 3 };
        using var fused = SequenceModel.Create(spec, seed: 3);
        using var packed = SequenceModel.Create(spec, seed: 3);
        fused.SequencePath = SequencePath.Fused;
        packed.SequencePath = SequencePath.Packed;
        var random = new Random(11);
        // Inputs of a few units: gates well into their saturated ranges as well as near zero.
        var sequences = Enumerable.Range(0, 24)
            .Select(_ => Enumerable.Range(0, random.Next(1, 301) * 8).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray()).ToList();
        var batch = SequenceBatch.FromFeatures(sequences, 8);

        var expected = packed.Forward(batch, returnStates: true);
        var actual = fused.Forward(batch, returnStates: true);

        for (var i = 0; i < sequences.Count; i++)
        {
            Tolerance.AssertClose(expected.Output(i), actual.Output(i), 1e-5, $"output {i} ({sequences[i].Length / 8} steps)");
            Tolerance.AssertClose(expected.StatesOf(i), actual.StatesOf(i), 1e-5, $"states {i} ({sequences[i].Length / 8} steps)");
        }
    }

    /// <summary>
    /// Inputs far outside any scale (1e26, as the hostile-input test sends) saturate every gate: the fused layer's
    /// approximations stay finite there and give libtorch's outputs, as do tiny ones.
    /// </summary>
    [Fact]
    public void ExtremeInputsGiveLibtorchsFiniteOutputs()
    {
        var spec = new ModelSpec { Cell = CellKind.Lstm, InputSize = 2, HiddenSize = 16, NumLayers = 2, OutputSize = 2 };
        using var fused = SequenceModel.Create(spec, seed: 4);
        using var packed = SequenceModel.Create(spec, seed: 4);
        fused.SequencePath = SequencePath.Fused;
        packed.SequencePath = SequencePath.Packed;
        var sequences = new List<float[]> { new[] { 1e26f, -1e26f, 3e38f, 0f }, new[] { 1e-30f, -1e-38f }, new[] { -1e26f, 0.5f, 1e26f, 1e26f } };
        var batch = SequenceBatch.FromFeatures(sequences, 2);

        var expected = packed.Forward(batch, returnStates: true);
        var actual = fused.Forward(batch, returnStates: true);

        for (var i = 0; i < sequences.Count; i++)
        {
            Assert.All(actual.StatesOf(i).ToArray(), state => Assert.True(float.IsFinite(state)));
            Tolerance.AssertClose(expected.Output(i), actual.Output(i), 1e-5, $"output {i}");
            Tolerance.AssertClose(expected.StatesOf(i), actual.StatesOf(i), 1e-5, $"states {i}");
        }
    }

    /// <summary>
    /// Training takes the fused layers' own backward (LSTMs and GRUs on the CPU): a few Adam steps on long sequences of
    /// mixed lengths leave libtorch's weights, packed (PyTorch's own LSTM and GRU) as the reference, at 1e-5.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Lstm, false, 1, PoolingKind.Last)]
    [InlineData(CellKind.Lstm, true, 2, PoolingKind.Last)]
    [InlineData(CellKind.Lstm, false, 2, PoolingKind.Mean)]
    [InlineData(CellKind.Gru, false, 1, PoolingKind.Last)]
    [InlineData(CellKind.Gru, true, 2, PoolingKind.Last)]
    [InlineData(CellKind.Gru, false, 2, PoolingKind.Mean)]
    public void TrainingStepsOnTheFusedLayersGiveLibtorchsWeights(CellKind cell, bool bidirectional, int layers, PoolingKind pooling)
    {
        var spec = new ModelSpec
        {
            Cell = cell, InputSize = 4, HiddenSize = 32, NumLayers = layers, Bidirectional = bidirectional, OutputSize = 2,
            Pooling = pooling,
        };
        var random = new Random(5);
        var sequences = Enumerable.Range(0, 12)
            .Select(_ => Enumerable.Range(0, random.Next(1, 121) * 4).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToList();
        var batch = SequenceBatch.FromFeatures(sequences, 4);
        var targets = BatchTargets.FromClasses(Enumerable.Range(0, 12).Select(i => (long)(i % 2)).ToArray());

        var packed = TrainingProblem.Train(spec, batch, targets, path: SequencePath.Packed);
        var fused = TrainingProblem.Train(spec, batch, targets, path: SequencePath.Fused);
        var automatic = TrainingProblem.Train(spec, batch, targets);
        using var fresh = SequenceModel.Create(spec, seed: 11);
        var initial = fresh.GetStateDict();
        foreach (var tensor in packed)
        {
            Assert.NotEqual(initial[tensor.Name].Values, tensor.Values);  // the steps moved it
            Tolerance.AssertClose(tensor.Values, fused[tensor.Name].Values, 1e-5, tensor.Name + " (fused)");
            Assert.Equal(fused[tensor.Name].Values, automatic[tensor.Name].Values);  // the default path is the fused one
        }
    }
}
