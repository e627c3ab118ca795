using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// The shim's fused layers on the CPU (LSTM and GRU, inference and training) against libtorch's own packed LSTM and GRU:
/// the same outputs and states, and the same weights after training steps, on long sequences of mixed lengths, where an
/// approximation's error would build up step after step. PyTorch parity on every LSTM and GRU case is in
/// <see cref="PyTorchParityTests"/>, padding independence in <see cref="PaddingTests"/>.
/// </summary>
public sealed class FusedLayerTests
{
    /// <remarks>
    /// Hidden sizes whose gate widths are not a multiple of 16 (5: 20 and 15 columns; 24, a GRU's 72) end the recurrent
    /// product's weight panels short (small_gemm.cpp); as the 24 sequences end, every count of running rows from 24 to 1
    /// goes through its kernel.
    /// </remarks>
    [Theory]
    [InlineData(CellKind.Lstm, false, 1, 64)]
    [InlineData(CellKind.Lstm, true, 2, 64)]
    [InlineData(CellKind.Gru, false, 1, 64)]
    [InlineData(CellKind.Gru, true, 2, 64)]
    [InlineData(CellKind.Lstm, false, 2, 5)]
    [InlineData(CellKind.Gru, true, 1, 5)]
    [InlineData(CellKind.Gru, false, 2, 24)]
    public void LongMixedSequencesGiveLibtorchsOutputsAndStates(CellKind cell, bool bidirectional, int layers, int hidden)
    {
        var spec = new ModelSpec { Cell = cell, InputSize = 8, HiddenSize = hidden, NumLayers = layers, Bidirectional = bidirectional, OutputSize = 3 };
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
    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    public void ExtremeInputsGiveLibtorchsFiniteOutputs(CellKind cell)
    {
        var spec = new ModelSpec { Cell = cell, InputSize = 2, HiddenSize = 16, NumLayers = 2, OutputSize = 2 };
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

/// <summary>
/// The fused layers' speed rests on GCC vectorising their gate passes, which it does silently or not at all: once, a
/// value selected between two computed ones turned the AVX2 clones scalar (the baseline clones stayed vectorised, and
/// every result stayed right). The built library's AVX2 clone of each pass must use 256-bit registers; so must the
/// optimizer's.
/// </summary>
public sealed class FusedLayerVectorisationTests
{
    [Fact]
    public void EveryGatePassAndTheRecurrentProductAreVectorised()
    {
        if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
            return;  // the clones are x86-64's
        var library = Path.Combine(AppContext.BaseDirectory, "librnnshim.so");
        var start = new System.Diagnostics.ProcessStartInfo("objdump", ["-d", "--no-show-raw-insn", "-C", library])
        {
            RedirectStandardOutput = true, UseShellExecute = false,
        };
        using var objdump = System.Diagnostics.Process.Start(start)!;
        var listing = objdump.StandardOutput.ReadToEnd();
        objdump.WaitForExit();
        Assert.Equal(0, objdump.ExitCode);

        // Function by function: a header line "<address> <name(…) [clone .avx2]>:" and its instructions up to a blank line.
        var functions = listing.Split("\n\n").Select(block => block.Trim()).Where(block => block.Contains(">:\n", StringComparison.Ordinal))
            .ToDictionary(block => block[..block.IndexOf('\n')], block => block);
        foreach (var pass in new[] { "cell_update", "train_forward", "train_backward", "step_infer", "step_forward", "step_backward" })
        {
            var clone = functions.Where(function => function.Key.Contains("::" + pass + "(", StringComparison.Ordinal)
                                                    && function.Key.Contains("[clone .avx2]", StringComparison.Ordinal)).ToList();
            Assert.True(clone.Count == 1, $"{pass}: {clone.Count} AVX2 clones in {library}");
            var wide = clone[0].Value.Split('\n').Count(line => line.Contains("%ymm", StringComparison.Ordinal));
            Assert.True(wide >= 20, $"{pass}: its AVX2 clone has {wide} instructions on 256-bit registers: not vectorised");
        }
        // Serving's two gate passes also have an AVX-512 clone, on 512-bit registers.
        foreach (var pass in new[] { "cell_update", "step_infer" })
        {
            var clone = functions.Where(function => function.Key.Contains("::" + pass + "(", StringComparison.Ordinal)
                                                    && function.Key.Contains("[clone .avx512f]", StringComparison.Ordinal)).ToList();
            Assert.True(clone.Count == 1, $"{pass}: {clone.Count} AVX-512 clones in {library}");
            var wide = clone[0].Value.Split('\n').Count(line => line.Contains("%zmm", StringComparison.Ordinal));
            Assert.True(wide >= 20, $"{pass}: its AVX-512 clone has {wide} instructions on 512-bit registers: not vectorised");
        }
        // The optimizer's pass (fused_adam.cpp, one instance per kind of weight decay) takes square roots 8 at a time;
        // without -fno-math-errno it would call sqrtf element by element.
        var adam = functions.Where(function => function.Key.Contains("::adam_update<", StringComparison.Ordinal)
                                               && function.Key.Contains("[clone .avx2]", StringComparison.Ordinal)).ToList();
        Assert.True(adam.Count == 3, $"adam_update: {adam.Count} AVX2 clones in {library}");
        Assert.All(adam, function => Assert.Contains(function.Value.Split('\n'),
            line => line.Contains("vsqrtps", StringComparison.Ordinal) && line.Contains("%ymm", StringComparison.Ordinal)));
        // The recurrent product's kernel (small_gemm.cpp, compiled for AVX2 and FMA): its 6 × 16 block alone is 12
        // multiply-adds of 256 bits a step of k.
        var fused = functions.Where(function => function.Key.Contains("rnn::gemm::", StringComparison.Ordinal))
            .Sum(function => function.Value.Split('\n').Count(line => line.Contains("vfmadd", StringComparison.Ordinal) && line.Contains("%ymm", StringComparison.Ordinal)));
        Assert.True(fused >= 12, $"the recurrent product's kernel has {fused} 256-bit multiply-adds in {library}");
    }
}
