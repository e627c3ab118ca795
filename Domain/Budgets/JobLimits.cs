using RnnService.Domain.Models;
using RnnService.Domain.Validation;

namespace RnnService.Domain.Budgets;

/// <summary>
/// What one training job may take: parameters, peak memory and training time. Checked when a job is submitted (and the
/// parameters when a model is imported), so that no request can start work the machine cannot finish.
/// </summary>
public sealed record JobLimits(long MaxParameters, long MaxTrainingMemoryBytes, TimeSpan MaxDuration)
{
    /// <summary>No limits but the engine's own (tests and tools that check other things).</summary>
    public static JobLimits None { get; } = new(long.MaxValue, long.MaxValue, TimeSpan.MaxValue);

    /// <summary>
    /// The estimate against the limits, as errors on the request fields that drive the figure that is over, each with
    /// the figure and the limit. <paramref name="dataFields"/>: the task's fields behind each part that is not the model.
    /// </summary>
    public IReadOnlyList<ValidationError> Check(TrainingEstimate estimate, ModelSpec spec, Func<EstimatePart, IReadOnlyList<string>> dataFields)
    {
        var errors = new List<ValidationError>();
        if (estimate.ParameterCount > MaxParameters)
        {
            var message = $"the model would have {Sizes.Count(estimate.ParameterCount)} parameters " +
                          $"({Sizes.Bytes(4 * estimate.ParameterCount)} of weights) and need about {Sizes.Bytes(estimate.PeakBytes)} to train; " +
                          $"at most {Sizes.Count(MaxParameters)} parameters are allowed (Jobs:MaxParameters).";
            foreach (var field in ParameterFields(spec)) errors.Add(new(field, message));
        }
        else if (estimate.PeakBytes > MaxTrainingMemoryBytes)
        {
            var message = $"the job would need about {Sizes.Bytes(estimate.PeakBytes)} at its peak ({Breakdown(estimate)}); " +
                          $"at most {Sizes.Bytes(MaxTrainingMemoryBytes)} is allowed (Jobs:MaxTrainingMemoryMiB).";
            var fields = estimate.LargestPart == EstimatePart.Model ? ParameterFields(spec) : dataFields(estimate.LargestPart);
            foreach (var field in fields) errors.Add(new(field, message));
        }
        return errors;
    }

    private static string Breakdown(TrainingEstimate estimate) => string.Join("; ", new[]
    {
        ("the model with its gradients and Adam's moments", estimate.ModelBytes),
        ("the host's two weight copies", estimate.WeightCopiesBytes),
        ("a training step", estimate.StepBytes),
        ("a validation batch", estimate.ValidationBytes),
        ("the prepared examples", estimate.DataBytes),
        ("loading the dataset", estimate.LoadingBytes),
    }.Where(part => part.Item2 > 0).Select(part => $"{part.Item1}: {Sizes.Bytes(part.Item2)}"));

    /// <summary>The fields that make the parameters: the hidden size, and the embedding when it holds most of them.</summary>
    private static IEnumerable<string> ParameterFields(ModelSpec spec)
    {
        var embedding = spec.HasEmbedding ? (long)spec.VocabularySize * spec.InputSize : 0;
        if (2 * embedding > spec.CountParameters())
        {
            yield return "task.vocabularySize";
            yield return "model.embeddingDim";
        }
        else
        {
            yield return "model.hiddenSize";
            if (spec.NumLayers > 1) yield return "model.numLayers";
        }
    }
}
