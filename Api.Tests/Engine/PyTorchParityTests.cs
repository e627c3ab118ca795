using System.Text.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// Our engine and PyTorch agree: PyTorch's weights give PyTorch's outputs here, our weights give our outputs
/// there. LSTM, GRU and RNN; 1 and 2 layers; uni- and bidirectional; features and embeddings; the last state, mean, max
/// and attention pooling; an output per step (labelling).
/// </summary>
[Collection(PyTorchCollection.Name)]
public sealed class PyTorchParityTests(PyTorchCases pytorch)
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string> CaseNames()
    {
        var names = new TheoryData<string>();
        foreach (var name in Names()) names.Add(name);
        return names;
    }

    /// <summary>
    /// Every case through each way the engine runs mixed lengths: packed, padded with per-sequence read-out, and (LSTMs
    /// and GRUs, for inference on the CPU) the shim's fused layers.
    /// </summary>
    public static TheoryData<string, SequencePath> CasesAndPaths()
    {
        var cases = new TheoryData<string, SequencePath>();
        foreach (var name in Names())
        foreach (var path in new[] { SequencePath.Packed, SequencePath.Padded, SequencePath.Fused })
            if (path != SequencePath.Fused || !name.StartsWith("rnn", StringComparison.Ordinal))
                cases.Add(name, path);
        return cases;
    }

    /// <summary>
    /// Every cell, depth, direction and input with the last state; every cell and direction with mean, max and attention
    /// pooling, and with an output per step (labelling).
    /// </summary>
    private static IEnumerable<string> Names() =>
        (from cell in new[] { "lstm", "gru", "rnn" }
         from layers in new[] { 1, 2 }
         from direction in new[] { "uni", "bi" }
         from input in new[] { "feat", "emb" }
         select $"{cell}-l{layers}-{direction}-{input}")
        .Concat(
            from pooling in new[] { "mean", "max", "attention" }
            from cell in new[] { "lstm", "gru", "rnn" }
            from direction in new[] { "uni", "bi" }
            from depth in new[] { "l1", "l2" }
            select $"{cell}-{depth}-{direction}-{(depth == "l1" ? "feat" : "emb")}-{pooling}")
        .Concat(
            from cell in new[] { "lstm", "gru", "rnn" }
            from direction in new[] { "uni", "bi" }
            from depth in new[] { "l1", "l2" }
            select $"{cell}-{depth}-{direction}-{(depth == "l1" ? "feat" : "emb")}-perstep");

    [Theory]
    [MemberData(nameof(CasesAndPaths))]
    public void WeightsSavedByPyTorchReproducePyTorchOutputsAndStates(string name, SequencePath path)
    {
        var reference = pytorch[name];
        using var weights = File.OpenRead(reference.WeightsPath);
        using var model = SequenceModel.Load(reference.Spec, weights);
        model.SequencePath = path;

        var result = model.Forward(reference.Batch(), returnStates: true);

        for (var i = 0; i < reference.Lengths.Length; i++)
        {
            Infrastructure.Tolerance.AssertClose(reference.Outputs[i], result.Output(i), Tolerance, $"{name} outputs[{i}]");
            var expectedStates = reference.States[i].Take((int)reference.Lengths[i]).SelectMany(step => step).ToArray();
            Infrastructure.Tolerance.AssertClose(expectedStates, result.StatesOf(i), Tolerance, $"{name} states[{i}]");
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void ParameterNamesAndCountsAreThoseOfPyTorch(string name)
    {
        var reference = pytorch[name];
        using var model = SequenceModel.Create(reference.Spec, seed: 1);

        Assert.Equal(reference.ParameterCount, model.ParameterCount);
        Assert.Equal(reference.ParameterNames, model.Parameters.Select(p => p.Name));
    }

    [Fact]
    public void WeightsSavedByOurEngineLoadInPyTorchAndGiveOurOutputs()
    {
        var directory = Directory.CreateTempSubdirectory("rnnservice-reverse-").FullName;
        try
        {
            var names = new List<string>();
            foreach (var reference in pytorch.Cases)
            {
                using var model = SequenceModel.Create(reference.Spec, seed: 7);
                var result = model.Forward(reference.Batch(), returnStates: true);
                using (var file = File.Create(Path.Combine(directory, reference.Name + ".pt")))
                    model.SaveWeights(file);
                var steps = result.States!.Length / (result.Count * result.StateSize);
                File.WriteAllText(Path.Combine(directory, reference.Name + ".json"), new JsonObject
                {
                    ["name"] = reference.Name,
                    ["spec"] = reference.SpecJson.DeepClone(),
                    ["lengths"] = JsonSerializer.SerializeToNode(reference.Lengths),
                    ["inputs"] = reference.Inputs.DeepClone(),
                    ["outputs"] = reference.Spec.PerStep
                        ? JsonSerializer.SerializeToNode(result.Outputs.Chunk(result.OutputSize).Chunk(steps))
                        : JsonSerializer.SerializeToNode(result.Outputs.Chunk(result.OutputSize)),
                    ["states"] = JsonSerializer.SerializeToNode(result.States.Chunk(result.StateSize).Chunk(steps)),
                }.ToJsonString());
                names.Add(reference.Name);
            }

            var report = JsonNode.Parse(PyTorch.Run("check", directory))!.AsObject();
            var readme = JsonNode.Parse(PyTorch.Run("readme", PyTorch.Manual("engine.md"), directory))!.AsObject();

            Assert.Equal(names.Order(), report.Select(entry => entry.Key).Order());
            foreach (var (name, entry) in report)
            {
                Assert.True(entry!["outputs"]!.GetValue<double>() <= Tolerance, $"{name}: outputs differ by {entry["outputs"]}");
                Assert.True(entry["states"]!.GetValue<double>() <= Tolerance, $"{name}: states differ by {entry["states"]}");
                Assert.Equal(pytorch[name].ParameterNames, entry["keys"].Deserialize<string[]>());
                Assert.Equal("OrderedDict", entry["type"]!.GetValue<string>());
                // The class docs/engine.md shows PyTorch users loads the same file and gives the same outputs.
                Assert.True(readme[name]!.GetValue<double>() <= Tolerance, $"{name}: docs/engine.md's class differs by {readme[name]}");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
