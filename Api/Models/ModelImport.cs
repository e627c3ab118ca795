using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Tasks;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Api.Models;

public sealed class ModelImportOptions
{
    public const string Section = "Models";

    /// <summary>Largest weights file an import accepts, in bytes (default 1 GiB); larger ones get 413.</summary>
    [Range(1, long.MaxValue)]
    public long MaxImportBytes { get; set; } = 1L << 30;
}

/// <summary>
/// The <c>spec</c> part of an import: what the weights are for. The network's sizes come from the weights' shapes;
/// <c>model</c> may name the cell and sizes too, and then they must agree.
/// </summary>
public sealed record ModelImportSpec
{
    [Description("kind (forecast, classification, regression, labelling); the rest of the task is read from the preprocessing.")]
    public TaskOptions? Task { get; init; }

    [Description("Optional: cell (lstm, gru, rnn; otherwise read from the gate count), hiddenSize, numLayers, bidirectional, dropout, " +
                 "pooling (last unless given; attention is read from attention.weight).")]
    public ModelOptions? Model { get; init; }

    [Description("Forecast (required): scaling, features, targets, inputLength, horizon, season, mean, std. " +
                 "Classification, regression and labelling (optional): features {mean, std}, tokenizer, vocabulary, labels, targets {mean, std}. " +
                 "The same shape GET /models/{name}/versions/{version} returns.")]
    public JsonElement? Preprocessing { get; init; }
}

/// <summary>The multipart form of an import, for the OpenAPI document.</summary>
public sealed record ModelImportForm(
    [property: Description("JSON: task, model, preprocessing (see ModelImportSpec).")] string Spec,
    [property: Description("The file torch.save(model.state_dict()) wrote.")] IFormFile Weights);

/// <summary>Reads the network's spec from a state_dict's shapes; the task kind checks the preprocessing against it.</summary>
public static class ModelImport
{
    public static ImportPlan? Plan(ModelImportSpec import, StateDict weights, List<ValidationError> errors)
    {
        var kind = import.Task?.Kind;
        var spec = InferSpec(import.Model, weights, kind is { } known && TaskKinds.For(known).PerStep, errors);
        if (kind is null) errors.Add(new("spec.task.kind", $"is required: {TaskKinds.Names}."));
        if (spec is null || kind is null) return null;
        return TaskKinds.For(kind.Value).PlanImport(spec, import.Preprocessing, errors);
    }

    /// <summary>
    /// The network's spec from the state_dict's shapes; what cannot be read is reported, not guessed. A per-step model
    /// (<paramref name="perStep"/>: labelling) has the weights of any other and pools nothing.
    /// </summary>
    public static ModelSpec? InferSpec(ModelOptions? options, StateDict weights, bool perStep, List<ValidationError> errors)
    {
        var missing = new[] { "rnn.weight_ih_l0", "rnn.weight_hh_l0", "head.weight" }.Where(key => !weights.Contains(key)).ToList();
        if (missing.Count > 0)
        {
            errors.Add(new("weights", $"missing keys: {string.Join(", ", missing)} (the keys are embedding.*, rnn.*, head.*, as in API.md)."));
            return null;
        }
        var inputWeights = weights["rnn.weight_ih_l0"].Shape;
        var hiddenWeights = weights["rnn.weight_hh_l0"].Shape;
        var head = weights["head.weight"].Shape;
        if (inputWeights.Length != 2 || hiddenWeights.Length != 2 || head.Length != 2 || hiddenWeights[1] < 1)
        {
            errors.Add(new("weights", "rnn.weight_ih_l0, rnn.weight_hh_l0 and head.weight must be matrices."));
            return null;
        }
        var hidden = hiddenWeights[1];
        CellKind? cell = (hiddenWeights[0] / hidden, hiddenWeights[0] % hidden) switch
        {
            (4, 0) => CellKind.Lstm,
            (3, 0) => CellKind.Gru,
            (1, 0) => CellKind.Rnn,
            _ => null,
        };
        if (cell is null)
        {
            errors.Add(new("weights", $"rnn.weight_hh_l0 is [{hiddenWeights[0]}, {hidden}]: not 4 (LSTM), 3 (GRU) or 1 (RNN) gates of {hidden}."));
            return null;
        }
        var layers = 0;
        while (weights.Contains($"rnn.weight_ih_l{layers}")) layers++;
        var bidirectional = weights.Contains("rnn.weight_ih_l0_reverse");
        var embedding = weights.Contains("embedding.weight") ? weights["embedding.weight"].Shape : null;
        if (embedding is { Length: not 2 })
        {
            errors.Add(new("weights", "embedding.weight must be a matrix."));
            return null;
        }

        // Attention pooling has weights of its own; last, mean and max look the same in a state_dict, so the spec says which.
        var attention = weights.Contains("attention.weight");
        var pooling = attention ? PoolingKind.Attention : options?.Pooling ?? PoolingKind.Last;
        if (attention && options?.Pooling is { } stated && stated != PoolingKind.Attention)
            errors.Add(new("spec.model.pooling", $"is {Name(stated)}, but the weights have attention.weight (attention pooling)."));
        else if (!attention && pooling == PoolingKind.Attention)
            errors.Add(new("spec.model.pooling", "is attention, but the weights have no attention.weight."));

        var spec = new ModelSpec
        {
            PerStep = perStep,
            Pooling = pooling,
            Cell = cell.Value,
            InputSize = (int)Math.Min(inputWeights[1], int.MaxValue),
            HiddenSize = (int)Math.Min(hidden, int.MaxValue),
            NumLayers = layers,
            Bidirectional = bidirectional,
            Dropout = options?.Dropout ?? 0,
            VocabularySize = embedding is null ? 0 : (int)Math.Min(embedding[0], int.MaxValue),
            OutputSize = (int)Math.Min(head[0], int.MaxValue),
        };
        Agree(errors, "spec.model.cell", options?.Cell, spec.Cell, v => v.ToString().ToLowerInvariant());
        Agree(errors, "spec.model.hiddenSize", options?.HiddenSize, spec.HiddenSize, v => v.ToString());
        Agree(errors, "spec.model.numLayers", options?.NumLayers, spec.NumLayers, v => v.ToString());
        Agree(errors, "spec.model.bidirectional", options?.Bidirectional, spec.Bidirectional, v => v ? "true" : "false");
        Agree(errors, "spec.model.embeddingDim", options?.EmbeddingDim, embedding is null ? null : spec.InputSize, v => v.ToString());
        foreach (var problem in spec.Validate()) errors.Add(new($"weights", $"{problem.Field} {problem.Message}"));
        return errors.Count > 0 ? null : spec;
    }

    private static string Name(PoolingKind pooling) => pooling.ToString().ToLowerInvariant();

    private static void Agree<T>(List<ValidationError> errors, string field, T? given, T? actual, Func<T, string> show) where T : struct
    {
        if (given is { } value && !EqualityComparer<T?>.Default.Equals(given, actual))
            errors.Add(new(field, $"is {show(value)}, but the weights say {(actual is { } a ? show(a) : "none")}."));
    }
}
