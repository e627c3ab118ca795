using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Training.Pipeline;

/// <summary>
/// A task's data made ready for the engine: the split examples, the network's input and output sizes, the loss,
/// how validation outputs become metrics, which epoch is kept, and the preprocessing the model version keeps.
/// </summary>
public abstract class TaskPipeline
{
    public required IReadOnlyList<Example> Train { get; init; }

    public required IReadOnlyList<Example> Validation { get; init; }

    /// <summary>Features per step (the embedding width for token models is the model's own).</summary>
    public required int FeatureCount { get; init; }

    /// <summary>Vocabulary size, padding included, for token models; 0 otherwise.</summary>
    public int VocabularySize { get; init; }

    /// <summary>Head outputs, per sequence or (<see cref="PerStep"/>) per step.</summary>
    public required int OutputSize { get; init; }

    /// <summary>The head gives an output at every step (labelling).</summary>
    public bool PerStep { get; init; }

    public required LossKind Loss { get; init; }

    /// <summary>
    /// When set, training starts with the head's weights at zero and its bias at these values (one per output), so that
    /// the untrained model answers with what its targets are measured from (a seasonal forecast; for quantiles, with the
    /// training targets' spread around it as intervals), and what it learns is the rest. That model is evaluated first,
    /// as epoch 0, and stays unless the best epoch beats it on validation by more than one standard error (see
    /// <c>TrainingRun.BeatsBaseline</c>).
    /// </summary>
    public float[]? HeadStart { get; init; }

    /// <summary>
    /// Whether the kept model's validation outputs are passed to <see cref="Calibrate"/> once training ends (and the
    /// job's metrics are then the calibrated model's).
    /// </summary>
    public virtual bool CalibratesOnValidation => false;

    /// <summary>Adjusts the preprocessing the model version keeps from the kept model's validation outputs.</summary>
    public virtual void Calibrate(float[] outputs)
    {
    }

    /// <summary>The quantile levels of <see cref="LossKind.Quantile"/>; null for the other losses.</summary>
    public double[]? Quantiles { get; init; }

    /// <summary>
    /// The validation metric that picks the epoch kept and stops training early (higher is better, ties go to the lower
    /// validation loss); null: the validation loss itself. A model is chosen by what it is judged on.
    /// </summary>
    public virtual string? SelectionMetric => null;

    /// <summary>What a model version needs to turn raw inputs into the network's and its outputs back (JSON-serialisable).</summary>
    public abstract object Preprocessing { get; }

    /// <summary>
    /// Validation metrics in the data's own scale, from the raw head outputs in validation order: <c>OutputSize</c> a
    /// sequence, or for a per-step model <c>OutputSize</c> at each of its steps.
    /// </summary>
    public abstract IReadOnlyDictionary<string, double> Metrics(float[] outputs);

    /// <summary>What the kept model's validation outputs (as for <see cref="Metrics"/>) show people: kept with the version.</summary>
    public abstract ModelEvaluation Evaluate(float[] outputs);

    /// <summary>Whether an epoch with <paramref name="loss"/> and <paramref name="metrics"/> beats the best so far.</summary>
    public bool Improves(double loss, IReadOnlyDictionary<string, double> metrics, double bestLoss, IReadOnlyDictionary<string, double>? bestMetrics)
    {
        if (SelectionMetric is not { } name || bestMetrics is null || !metrics.TryGetValue(name, out var score) || !bestMetrics.TryGetValue(name, out var best))
            return loss < bestLoss;
        return score > best || score == best && loss < bestLoss;
    }

    public ModelSpec Spec(ModelSpec options) => options with
    {
        InputSize = VocabularySize > 0 ? options.InputSize : FeatureCount,
        VocabularySize = VocabularySize,
        OutputSize = OutputSize,
        PerStep = PerStep,
    };
}
