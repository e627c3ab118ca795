using System.Text.Json;
using System.Text.Json.Nodes;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Infrastructure;

/// <summary>One model, a padded batch and what PyTorch computed for it (see Parity/pytorch_reference.py).</summary>
public sealed record ParityCase(
    string Name,
    ModelSpec Spec,
    JsonObject SpecJson,
    long[] Lengths,
    JsonArray Inputs,
    float[][] Outputs,
    float[][][] States,
    long ParameterCount,
    string[] ParameterNames,
    string WeightsPath)
{
    public static ParityCase Load(string path)
    {
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var spec = json["spec"]!;
        return new ParityCase(
            json["name"]!.GetValue<string>(),
            new ModelSpec
            {
                Cell = Enum.Parse<CellKind>(spec["cell"]!.GetValue<string>(), ignoreCase: true),
                InputSize = spec["inputSize"]!.GetValue<int>(),
                HiddenSize = spec["hiddenSize"]!.GetValue<int>(),
                NumLayers = spec["numLayers"]!.GetValue<int>(),
                Bidirectional = spec["bidirectional"]!.GetValue<bool>(),
                Dropout = spec["dropout"]!.GetValue<double>(),
                VocabularySize = spec["vocabularySize"]!.GetValue<int>(),
                OutputSize = spec["outputSize"]!.GetValue<int>(),
                Pooling = Enum.Parse<PoolingKind>(spec["pooling"]?.GetValue<string>() ?? "last", ignoreCase: true),
                PerStep = spec["perStep"]?.GetValue<bool>() ?? false,
            },
            spec.AsObject(),
            json["lengths"].Deserialize<long[]>()!,
            json["inputs"]!.AsArray(),
            OutputsOf(json),
            json["states"].Deserialize<float[][][]>()!,
            json["parameterCount"]!.GetValue<long>(),
            json["parameterNames"].Deserialize<string[]>()!,
            Path.ChangeExtension(path, ".pt"));
    }

    /// <summary>Each sequence's outputs, flat: a per-step model's over its real steps only (as <c>ForwardResult.Output</c> gives them).</summary>
    private static float[][] OutputsOf(JsonObject json)
    {
        if (json["spec"]!["perStep"]?.GetValue<bool>() != true) return json["outputs"].Deserialize<float[][]>()!;
        var lengths = json["lengths"].Deserialize<long[]>()!;
        return json["outputs"].Deserialize<float[][][]>()!
            .Select((steps, i) => steps.Take((int)lengths[i]).SelectMany(step => step).ToArray()).ToArray();
    }

    /// <summary>The padded batch exactly as PyTorch saw it, padding values included.</summary>
    public SequenceBatch Batch()
    {
        var steps = Inputs[0]!.AsArray().Count;
        if (Spec.HasEmbedding)
        {
            // (batch, steps) token ids
            return SequenceBatch.FromTokens(Inputs.Select((row, i) =>
                row!.AsArray().Take((int)Lengths[i]).Select(t => t!.GetValue<long>()).ToArray()).ToList());
        }

        // (batch, steps, features), padding kept: the engine must ignore it
        var features = Inputs.SelectMany(row => row!.AsArray().SelectMany(step => step!.AsArray().Select(v => v!.GetValue<float>()))).ToArray();
        return SequenceBatch.FromPadded(features, Lengths, steps, Spec.InputSize);
    }
}
