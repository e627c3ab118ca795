using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RnnService.Domain.Predictions;

/// <summary>What to predict with, and for which sequences or texts.</summary>
public sealed record PredictRequest
{
    [Description("`name` (its latest version), `name:version`, or `name@alias` (the version the alias points to).")]
    public string? Model { get; init; }

    [Description("Sequences of any lengths, each a list of steps; a step is a list of features, or a bare number for one feature. " +
                 "Forecast models read raw values in the data's own scale. Token models also take bare integer token ids.")]
    public SequenceInputs? Inputs { get; init; }

    [Description("For text models, instead of inputs: texts, tokenised as in training.")]
    public IReadOnlyList<string>? Texts { get; init; }

    [Description("For models trained on token lists (labelling), instead of inputs: each sequence as its list of tokens.")]
    public IReadOnlyList<IReadOnlyList<string>>? Tokens { get; init; }

    [Description("Forecast: steps to return, at most the trained horizon. Default: the trained horizon.")]
    public int? Horizon { get; init; }

    [Description("Forecast models with known-future features: parallel to inputs, for each input the trained horizon's steps " +
                 "of those features (a list per step, or a bare number for one feature), in the data's own scale.")]
    [JsonConverter(typeof(FutureInputsConverter))]
    public SequenceInputs? Future { get; init; }

    [Description("Forecast models with calendar features: parallel to inputs, the time of each input's first step " +
                 "(ISO 8601, or year-month for monthly data).")]
    public IReadOnlyList<string>? Starts { get; init; }

    [Description("Adds, for every sequence, the top layer's hidden state at each of its steps, per direction.")]
    public bool ReturnStates { get; init; }
}

/// <summary>
/// One sequence's answer: <c>forecast</c> (forecast models), <c>label</c> and <c>probabilities</c> (classification),
/// <c>values</c> (regression), or per step <c>labels</c> and <c>probabilities</c>, or <c>values</c> (labelling);
/// <c>states</c> when asked for.
/// </summary>
public sealed record PredictOutput
{
    [Description("Forecast: one entry per future step, each holding one value per target, in the data's own scale.")]
    public double[][]? Forecast { get; init; }

    [Description("Forecast with quantiles: for each quantile level (\"0.1\", \"0.5\", ...), its values like forecast's; " +
                 "ordered, so that a lower level is never above a higher one.")]
    public IReadOnlyDictionary<string, double[][]>? Quantiles { get; init; }

    [Description("Classification: the most probable class, as labelled in the training data.")]
    public double? Label { get; init; }

    [Description("Labelling: the most probable class at each step, as labelled in the training data.")]
    public double[]? Labels { get; init; }

    /// <summary><c>double[]</c> for a classification, <c>double[][]</c> (a row per step) for a labelling model.</summary>
    [Description("Classification: one probability per class, in the order of the model's labels. Labelling: one such list per step.")]
    public object? Probabilities { get; init; }

    /// <summary><c>double[]</c> for a regression, <c>double[][]</c> (a row per step) for a labelling model of numbers.</summary>
    [Description("Regression: the predicted values, in the labels' own scale. Labelling of numbers: one such list per step.")]
    public object? Values { get; init; }

    public SequenceStates? States { get; init; }

    [Description("Text models with returnStates: the tokens the states are of, as the model's tokenizer split the text.")]
    public IReadOnlyList<string>? Tokens { get; init; }
}

/// <summary>
/// The top layer's hidden state after each step (<c>steps × hiddenSize</c>). The backward direction's entry at step t
/// is its state after reading the sequence from its end back to step t.
/// </summary>
public sealed record SequenceStates(float[][] Forward, float[][]? Backward);
