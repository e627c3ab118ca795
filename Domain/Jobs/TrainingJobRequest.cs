using System.ComponentModel;
using RnnService.Domain.Models;

namespace RnnService.Domain.Jobs;

/// <summary>
/// What a client asks to train. Everything but <c>datasetId</c>, <c>modelName</c> and <c>task.kind</c> has a default;
/// the job keeps the request with every default filled in, so that it says exactly what ran.
/// </summary>
public sealed record TrainingJobRequest
{
    [Description("The dataset to train on (from POST /datasets).")]
    public string? DatasetId { get; init; }

    [Description("The registry name; a succeeded job adds the next version of it.")]
    public string? ModelName { get; init; }

    public TaskOptions? Task { get; init; }

    public ModelOptions? Model { get; init; }

    public TrainingOptions? Training { get; init; }
}

public enum TaskKind
{
    Forecast,
    Classification,
    Regression,

    /// <summary>One output per step (many-to-many, synchronous): classes or numbers, on a per-step labels dataset.</summary>
    Labelling,
}

public enum ScalingKind
{
    /// <summary>Each input window is shifted by its last value and divided by its own spread; outputs are mapped back.</summary>
    Window,

    /// <summary>Each column standardised with the mean and deviation of the training part.</summary>
    Standard,

    None,

    /// <summary>
    /// As <see cref="Window"/>, but each forecast step is measured from a seasonal forecast (the window's seasons averaged
    /// at the last one's level; with one season, the value one season earlier): the model learns what changes.
    /// </summary>
    Seasonal,
}

/// <summary>Calendar features of a forecast: <c>auto</c> (those the series' frequency has, when it has a time column) or none.</summary>
public enum CalendarChoice
{
    Auto,
    None,
}

public enum DeviceChoice
{
    Auto,
    Cpu,
    Cuda,
}

public sealed record TaskOptions
{
    [Description("forecast (time series), classification or regression (sequences or texts), labelling (a label per step: sequences or tokens with per-step labels).")]
    public TaskKind? Kind { get; init; }

    [Description("Forecast: the columns to predict. Default: every numeric column.")]
    public IReadOnlyList<string>? Targets { get; init; }

    [Description("Forecast: the columns the model reads; they must include the targets. Default: the targets.")]
    public IReadOnlyList<string>? Features { get; init; }

    [Description("Forecast: steps the model reads. Default 24, shortened when the series are short.")]
    public int? InputLength { get; init; }

    [Description("Forecast: steps predicted at once (direct multi-step). Default 1.")]
    public int? Horizon { get; init; }

    [Description("Forecast: seasonal (each window scaled by its own spread, each forecast step measured from the window's " +
                 "seasons averaged at the last one's level; the default for seasonal series), window (shifted by the window's " +
                 "last value; the default otherwise), standard, or none.")]
    public ScalingKind? Scaling { get; init; }

    [Description("Forecast: steps in one season (12 for monthly data with a yearly cycle): seasonal scaling and MASE use it. " +
                 "Default: from the time column's frequency (24 hourly, 7 daily, 52 weekly, 12 monthly, 4 quarterly), else " +
                 "the strongest autocorrelation of the uploaded series, else 1 (the dataset's season).")]
    public int? Season { get; init; }

    [Description("Forecast: quantile levels to predict, each in (0, 1), e.g. [0.1, 0.5, 0.9]; trained with the pinball loss, " +
                 "and 0.5 is added when missing (it is the forecast). Default: none (a point forecast: the median, trained " +
                 "with the pinball loss at 0.5).")]
    public IReadOnlyList<double>? Quantiles { get; init; }

    [Description("Forecast: columns whose future values are known when forecasting (prices, holidays, promotions); the " +
                 "model reads them over the input window and the horizon, and predict takes them as future. Not targets.")]
    public IReadOnlyList<string>? KnownFeatures { get; init; }

    [Description("Forecast: auto (default: month of year, day of week, hour of day as fit the time column's frequency; " +
                 "predict then takes starts) or none.")]
    public CalendarChoice? CalendarFeatures { get; init; }

    [Description("Texts and token lists: most words kept in the vocabulary, <pad> and <unk> included. Default 20000.")]
    public int? VocabularySize { get; init; }
}

public sealed record ModelOptions
{
    [Description("lstm (default), gru, or rnn (plain Elman with tanh).")]
    public CellKind? Cell { get; init; }

    [DefaultValue(64)]
    public int? HiddenSize { get; init; }

    [DefaultValue(1)]
    public int? NumLayers { get; init; }

    [Description("Both directions (their states concatenated). Default false; true for text classification and labelling.")]
    public bool? Bidirectional { get; init; }

    [Description("Dropout between stacked layers. Default 0.")]
    public double? Dropout { get; init; }

    [Description("Texts and token lists: width of the word embedding. Default 64.")]
    public int? EmbeddingDim { get; init; }

    [Description("Texts and token lists: dropout on the embedded tokens while training (serving is unchanged). Default 0.5.")]
    public double? EmbeddingDropout { get; init; }

    [Description("How the sequence's representation is read from the top layer's outputs: last (the final state; the default, " +
                 "but attention for text classification), mean, max (per unit, over the real steps), or attention (a learned score " +
                 "per step, softmax over the real steps). Labelling models pool nothing.")]
    public PoolingKind? Pooling { get; init; }

    /// <summary>
    /// The network these (resolved) options describe, on data of <paramref name="inputSize"/> features per step (or a
    /// vocabulary of <paramref name="vocabularySize"/> tokens, embedded in <c>embeddingDim</c>) with
    /// <paramref name="outputSize"/> outputs, per sequence or (<paramref name="perStep"/>) per step.
    /// </summary>
    public ModelSpec ToSpec(int inputSize, int vocabularySize, int outputSize, bool perStep = false) => new()
    {
        PerStep = perStep,
        Cell = Cell!.Value,
        InputSize = vocabularySize > 0 ? EmbeddingDim!.Value : inputSize,
        HiddenSize = HiddenSize!.Value,
        NumLayers = NumLayers!.Value,
        Bidirectional = Bidirectional!.Value,
        Dropout = Dropout!.Value,
        VocabularySize = vocabularySize,
        OutputSize = outputSize,
        Pooling = Pooling ?? PoolingKind.Last,
        EmbeddingDropout = vocabularySize > 0 ? EmbeddingDropout ?? 0 : 0,
    };
}

public sealed record TrainingOptions
{
    [DefaultValue(100)]
    public int? Epochs { get; init; }

    [DefaultValue(32)]
    public int? BatchSize { get; init; }

    [Description("Adam's learning rate. Default 0.001; 0.002 for classification.")]
    public double? LearningRate { get; init; }

    [Description("Largest gradient norm; 0 turns clipping off. Default 1.")]
    public double? GradientClipNorm { get; init; }

    [Description("Share held out for validation: the end of each series, or a seeded random share of sequences. Default 0.2.")]
    public double? ValidationFraction { get; init; }

    [Description("Epochs without a better validation loss before training stops; 0 turns early stopping off. Default 10.")]
    public int? EarlyStoppingPatience { get; init; }

    [Description("Seeds initialisation, shuffling and dropout: the same seed gives the same model. Default 42.")]
    public long? Seed { get; init; }

    [Description("auto (CUDA when present), cpu or cuda.")]
    public DeviceChoice? Device { get; init; }

    [Description("Longest the job may train, as an ISO 8601 duration (PT30M, PT2H, P1D) or hh:mm:ss, summed over its attempts. " +
                 "Reached, the job stops after the batch under way and registers its best epoch so far. Default and most: the " +
                 "server's Jobs:MaxJobDuration (PT24H unless configured).")]
    public string? MaxDuration { get; init; }
}
