using System.ComponentModel;

namespace RnnService.Api.Predict;

/// <summary>What to predict with, and for which sequences or texts.</summary>
public sealed record PredictRequest
{
    [Description("`name` (its latest version) or `name:version`.")]
    public string? Model { get; init; }

    [Description("Sequences of any lengths, each a list of steps; a step is a list of features, or a bare number for one feature. " +
                 "Forecast models read raw values in the data's own scale. Token models also take bare integer token ids.")]
    public SequenceInputs? Inputs { get; init; }

    [Description("For text models, instead of inputs: texts, tokenised as in training.")]
    public IReadOnlyList<string>? Texts { get; init; }

    [Description("Forecast: steps to return, at most the trained horizon. Default: the trained horizon.")]
    public int? Horizon { get; init; }

    [Description("Adds, for every sequence, the top layer's hidden state at each of its steps, per direction.")]
    public bool ReturnStates { get; init; }
}

/// <summary>The model version that answered and one output per input, in input order.</summary>
public sealed record PredictResponse(string Model, int Version, IReadOnlyList<PredictOutput> Outputs);

/// <summary>
/// One sequence's answer: <c>forecast</c> (forecast models), <c>label</c> and <c>probabilities</c> (classification) or
/// <c>values</c> (regression); <c>states</c> when asked for.
/// </summary>
public sealed record PredictOutput
{
    [Description("Forecast: one entry per future step, each holding one value per target, in the data's own scale.")]
    public double[][]? Forecast { get; init; }

    [Description("Classification: the most probable class, as labelled in the training data.")]
    public double? Label { get; init; }

    [Description("Classification: one probability per class, in the order of the model's labels.")]
    public double[]? Probabilities { get; init; }

    [Description("Regression: the predicted values, in the labels' own scale.")]
    public double[]? Values { get; init; }

    public SequenceStates? States { get; init; }
}

/// <summary>
/// The top layer's hidden state after each step (<c>steps × hiddenSize</c>). The backward direction's entry at step t
/// is its state after reading the sequence from its end back to step t.
/// </summary>
public sealed record SequenceStates(float[][] Forward, float[][]? Backward);
