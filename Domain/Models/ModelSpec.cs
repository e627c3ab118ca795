using System.Text.Json.Serialization;
using RnnService.Domain.Validation;

namespace RnnService.Domain.Models;

/// <summary>
/// The full shape of one network of the model family, as PyTorch would build it:
/// optional <c>embedding</c> (token models), <c>rnn</c> (batch first), <c>head</c> (linear).
/// </summary>
public sealed record ModelSpec
{
    /// <summary>Maximum of every size, so that one bad spec cannot ask for terabytes.</summary>
    public const int MaxSize = 65_536;

    public const int MaxLayers = 16;

    /// <summary>nn.LSTM, nn.GRU or nn.RNN (tanh).</summary>
    public required CellKind Cell { get; init; }

    /// <summary>Features per step; for token models, the embedding dimension.</summary>
    public required int InputSize { get; init; }

    public int HiddenSize { get; init; } = 64;

    public int NumLayers { get; init; } = 1;

    public bool Bidirectional { get; init; }

    /// <summary>Dropout between stacked layers, in training only (PyTorch ignores it for one layer).</summary>
    public double Dropout { get; init; }

    /// <summary>Token models: dropout on the embedded tokens, in training only (no weights; serving is unchanged).</summary>
    public double EmbeddingDropout { get; init; }

    /// <summary>Size of the token vocabulary, padding (0) included; 0 means no embedding.</summary>
    public int VocabularySize { get; init; }

    /// <summary>How the representation is read from the top layer's outputs; attention adds <c>attention.weight</c> and <c>.bias</c>.</summary>
    public PoolingKind Pooling { get; init; }

    /// <summary>
    /// Labelling (many-to-many): the head reads every step's output, so that a sequence gets one output vector per step;
    /// the pooling stays <see cref="PoolingKind.Last"/> (nothing is pooled). The weights are named as any other model's.
    /// </summary>
    public bool PerStep { get; init; }

    /// <summary>Head outputs (per sequence, or per step of a per-step model): horizon × targets, classes, or regression values.</summary>
    public required int OutputSize { get; init; }

    [JsonIgnore]
    public bool HasEmbedding => VocabularySize > 0;

    [JsonIgnore]
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>Width of the sequence representation and of each per-step state: directions × hidden.</summary>
    [JsonIgnore]
    public int StateSize => Directions * HiddenSize;

    /// <summary>Recurrent gates per cell: LSTM 4 (input, forget, cell, output), GRU 3, plain RNN 1.</summary>
    [JsonIgnore]
    public int Gates => Cell switch { CellKind.Lstm => 4, CellKind.Gru => 3, _ => 1 };

    /// <summary>
    /// What PyTorch's <c>sum(p.numel() for p in model.parameters())</c> says, computed from the spec alone (no model is
    /// made): per layer and direction <c>weight_ih</c> (gates·hidden × input), <c>weight_hh</c> (gates·hidden × hidden)
    /// and two bias vectors; the embedding (vocabulary × dimension) and the head. In 64-bit, checked arithmetic: every
    /// size a spec admits gives a count that fits.
    /// </summary>
    public long CountParameters()
    {
        checked
        {
            long gateRows = (long)Gates * HiddenSize;
            long count = 0;
            for (var layer = 0; layer < NumLayers; layer++)
            {
                long input = layer == 0 ? InputSize : (long)Directions * HiddenSize;
                count += Directions * (gateRows * input + gateRows * HiddenSize + 2 * gateRows);
            }
            if (HasEmbedding) count += (long)VocabularySize * InputSize;
            if (Pooling == PoolingKind.Attention) count += StateSize + 1;
            return count + (long)OutputSize * StateSize + OutputSize;
        }
    }

    /// <summary>Every rule of the engine: each size in range, and a parameter count that one buffer holds.</summary>
    public IReadOnlyList<ValidationError> Validate()
    {
        var errors = ValidateFields();
        if (EmbeddingDropout > 0 && !HasEmbedding)
            errors.Add(new("embeddingDropout", "applies to token models (texts, token lists) only."));
        // The host holds a model's weights in one float array (checkpoints, versions, the engine's bulk copies).
        if (errors.Count == 0 && CountParameters() is var count && count > Array.MaxLength)
            errors.Add(new(HasEmbedding && (long)VocabularySize * InputSize > count / 2 ? "vocabularySize" : "hiddenSize",
                $"gives {count:N0} parameters; one model may have at most {Array.MaxLength:N0}."));
        return errors;
    }

    /// <summary>Each field on its own: cell, sizes and dropout in range.</summary>
    public List<ValidationError> ValidateFields()
    {
        var errors = new List<ValidationError>();
        if (!Enum.IsDefined(Cell)) errors.Add(new("cell", $"'{Cell}' is not lstm, gru or rnn."));
        if (!Enum.IsDefined(Pooling)) errors.Add(new("pooling", $"'{Pooling}' is not last, mean, max or attention."));
        else if (PerStep && Pooling != PoolingKind.Last)
            errors.Add(new("pooling", $"is {Pooling.ToString().ToLowerInvariant()}, but a labelling model reads every step's output and pools nothing; leave it out."));
        CheckSize(errors, "inputSize", InputSize);
        CheckSize(errors, "hiddenSize", HiddenSize);
        CheckSize(errors, "outputSize", OutputSize);
        if (NumLayers is < 1 or > MaxLayers)
            errors.Add(new("numLayers", $"must be between 1 and {MaxLayers}, got {NumLayers}."));
        if (!(Dropout is >= 0 and < 1))
            errors.Add(new("dropout", $"must be at least 0 and below 1, got {Dropout}."));
        if (!(EmbeddingDropout is >= 0 and < 1))
            errors.Add(new("embeddingDropout", $"must be at least 0 and below 1, got {EmbeddingDropout}."));
        if (VocabularySize is < 0 or > 10_000_000)
            errors.Add(new("vocabularySize", $"must be between 0 and 10000000, got {VocabularySize}."));
        return errors;
    }

    private static void CheckSize(List<ValidationError> errors, string field, int value)
    {
        if (value is < 1 or > MaxSize) errors.Add(new(field, $"must be between 1 and {MaxSize}, got {value}."));
    }
}
