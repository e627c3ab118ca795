using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// The shim's fused LSTM layer (inference on the CPU) against libtorch's own packed LSTM: the same outputs and states
/// on long sequences of mixed lengths, where an approximation's error would build up step after step. PyTorch parity on
/// every LSTM case is in <see cref="PyTorchParityTests"/>, padding independence in <see cref="PaddingTests"/>.
/// </summary>
public sealed class FusedLstmTests
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

    [Fact]
    public void TrainingNeverTakesTheFusedLayerWhichHasNoBackward()
    {
        var spec = new ModelSpec { Cell = CellKind.Lstm, InputSize = 2, HiddenSize = 8, NumLayers = 1, OutputSize = 1 };
        var sequences = new List<float[]> { new float[] { 1, 2, 3, 4 }, new float[] { 0.5f, -1 } };
        var targets = BatchTargets.FromValues([[0.5f], [-0.5f]]);
        float[] Train(SequencePath path)
        {
            using var model = SequenceModel.Create(spec, seed: 2);
            model.SequencePath = path;
            using var trainer = new ModelTrainer(model, new TrainerOptions { Loss = LossKind.Mse, LearningRate = 0.1, GradientClipNorm = 1 });
            for (var step = 0; step < 3; step++) trainer.Step(SequenceBatch.FromFeatures(sequences, 2), targets);
            var weights = new float[model.ParameterCount];
            model.ReadParameters(weights);
            return weights;
        }

        Tolerance.AssertClose(Train(SequencePath.Auto), Train(SequencePath.Fused), 0, "weights after three steps");
    }
}
