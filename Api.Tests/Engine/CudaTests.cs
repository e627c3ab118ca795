using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Models;
using RnnService.Training.Torch;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// The engine on a CUDA device: PyTorch's outputs within float32-on-GPU tolerance, the CPU's training steps, and
/// weights and optimizer state that move between the GPU and the CPU in both directions.
/// </summary>
[Collection(PyTorchCollection.Name)]
public sealed class CudaTests
{
    private const double Tolerance = 1e-4;
    private static readonly EngineDevice Gpu = EngineDevice.Cuda();
    private readonly PyTorchCases pytorch;

    public CudaTests(PyTorchCases pytorch)
    {
        this.pytorch = pytorch;
        // As the service configures the engine by default (Engine:AllowTf32 false): float32 on the GPU too.
        TorchEngine.SetAllowTf32(false);
    }

    [CudaTheory]
    [MemberData(nameof(PyTorchParityTests.CasesAndPaths), MemberType = typeof(PyTorchParityTests))]
    public void WeightsSavedByPyTorchReproducePyTorchOutputsAndStatesOnCuda(string name, SequencePath path)
    {
        var reference = pytorch[name];
        using var weights = File.OpenRead(reference.WeightsPath);
        using var model = SequenceModel.Load(reference.Spec, weights, Gpu);
        model.SequencePath = path;

        var result = model.Forward(reference.Batch(), returnStates: true);

        Assert.Equal(Gpu, model.Device);
        for (var i = 0; i < reference.Lengths.Length; i++)
        {
            Infrastructure.Tolerance.AssertClose(reference.Outputs[i], result.Output(i), Tolerance, $"{name} outputs[{i}]");
            var expectedStates = reference.States[i].Take((int)reference.Lengths[i]).SelectMany(step => step).ToArray();
            Infrastructure.Tolerance.AssertClose(expectedStates, result.StatesOf(i), Tolerance, $"{name} states[{i}]");
        }
    }

    [CudaTheory]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Gru, false)]
    [InlineData(CellKind.Rnn, true)]
    public void TrainingStepsOnCudaGiveTheWeightsOfTheCpu(CellKind cell, bool bidirectional)
    {
        var (spec, batch, targets) = TrainingProblem.MixedLengths(cell, bidirectional);

        var cpu = TrainingProblem.Train(spec, batch, targets, EngineDevice.Cpu);
        var gpu = TrainingProblem.Train(spec, batch, targets, Gpu);

        using var fresh = SequenceModel.Create(spec, seed: 11);
        var initial = fresh.GetStateDict();
        foreach (var tensor in cpu)
        {
            Assert.NotEqual(initial[tensor.Name].Values, tensor.Values);  // the steps moved it
            Infrastructure.Tolerance.AssertClose(tensor.Values, gpu[tensor.Name].Values, Tolerance, tensor.Name);
        }
    }

    [CudaTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void AModelTrainedOnOneDeviceServesAndResumesOnTheOther(bool fromGpu)
    {
        var (spec, batch, targets) = TrainingProblem.MixedLengths(CellKind.Lstm, bidirectional: true);
        var (from, to) = fromGpu ? (Gpu, EngineDevice.Cpu) : (EngineDevice.Cpu, Gpu);
        var options = TrainingProblem.Options;

        // Trained where it started: the weights file and the optimizer state are what a checkpoint holds.
        using var source = SequenceModel.Create(spec, from, seed: 11);
        using var sourceTrainer = new ModelTrainer(source, options);
        for (var step = 0; step < 3; step++) sourceTrainer.Step(batch, targets);
        var weights = new MemoryStream();
        source.SaveWeights(weights);
        var optimizerState = sourceTrainer.SaveState();

        // Served where it moved to: the same outputs.
        weights.Position = 0;
        using var moved = SequenceModel.Load(spec, weights, to);
        Assert.Equal(to, moved.Device);
        Infrastructure.Tolerance.AssertClose(source.Forward(batch).Outputs, moved.Forward(batch).Outputs, Tolerance, "outputs");

        // Resumed where it moved to: the same step as one more where it was.
        using var movedTrainer = new ModelTrainer(moved, options);
        movedTrainer.LoadState(optimizerState);
        var continued = sourceTrainer.Step(batch, targets);
        var resumed = movedTrainer.Step(batch, targets);
        Assert.Equal(continued, resumed, Tolerance);
        var expected = source.GetStateDict();
        foreach (var tensor in moved.GetStateDict())
            Infrastructure.Tolerance.AssertClose(expected[tensor.Name].Values, tensor.Values, Tolerance, tensor.Name);
    }
}
