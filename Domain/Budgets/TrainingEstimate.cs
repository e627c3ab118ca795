using System.ComponentModel;
using System.Text.Json.Serialization;
using RnnService.Domain.Models;

namespace RnnService.Domain.Budgets;

/// <summary>
/// How much a training job needs, worked out before it is queued from its resolved request and its dataset's summary.
/// The peak is the larger of two phases: loading (parsing the dataset and preparing examples, before the model exists)
/// and training (the examples, the model with its gradients and Adam's moments, the host's two weight copies, and the
/// larger of a training step and a validation batch). <c>bench/reliability.sh memory</c> compares it with the peak resident
/// memory jobs really reach.
/// </summary>
public sealed record TrainingEstimate(
    [property: Description("Learnable parameters (what PyTorch's sum(p.numel() for p in model.parameters()) says).")] long ParameterCount,
    [property: Description("Estimated peak memory of the job, in bytes: the larger of loadingBytes and the training phase's sum.")] long PeakBytes,
    [property: Description("Weights, their gradients and Adam's two moments: 16 bytes a parameter.")] long ModelBytes,
    [property: Description("The host's copies of the current and the best weights (checkpoints, the registered version).")] long WeightCopiesBytes,
    [property: Description("One training step: the engine's activations for the largest batch, and the batch itself.")] long StepBytes,
    [property: Description("One validation batch's forward pass.")] long ValidationBytes,
    [property: Description("The prepared training and validation examples, kept while the job trains.")] long DataBytes,
    [property: Description("Parsing the dataset and preparing its examples, before the model is made.")] long LoadingBytes)
{
    public static TrainingEstimate For(ModelSpec spec, TrainingShape shape)
    {
        var parameters = spec.CountParameters();
        var model = EngineMemory.TrainedModel(spec);
        var copies = Sizes.Product(8, parameters);
        var batch = Math.Max(1, Math.Min(shape.BatchSize, shape.TrainingExamples));
        var hostBatch = Sizes.Product(2, batch, shape.Steps, shape.BytesPerStep);
        var step = Sizes.Sum(EngineMemory.TrainingStep(spec, batch, shape.Steps), hostBatch, EngineMemory.WorkingBytes);
        // A validation pass runs batch by batch, but keeps every example's outputs (a per-step model's at every step) for the metrics.
        var validation = Sizes.Sum(
            EngineMemory.Forward(spec, Math.Max(1, Math.Min(TrainingShape.ValidationBatch, shape.ValidationExamples)), shape.Steps),
            Sizes.Product(4, shape.ValidationExamples, spec.OutputSize, spec.PerStep ? shape.Steps : 1), EngineMemory.WorkingBytes);
        var training = Sizes.Sum(shape.DataBytes, model, copies, Math.Max(step, validation));
        return new TrainingEstimate(
            parameters, Math.Max(training, shape.LoadingBytes), model, copies, step, validation, shape.DataBytes, shape.LoadingBytes);
    }

    /// <summary>The part of the estimate that is largest, for telling a client what to change.</summary>
    [JsonIgnore]
    public EstimatePart LargestPart =>
        new (EstimatePart Part, long Bytes)[]
        {
            (EstimatePart.Model, ModelBytes + WeightCopiesBytes), (EstimatePart.Step, StepBytes), (EstimatePart.Validation, ValidationBytes),
            (EstimatePart.Data, DataBytes), (EstimatePart.Loading, LoadingBytes),
        }.MaxBy(part => part.Bytes).Part;
}

/// <summary>The parts of a <see cref="TrainingEstimate"/>: the model with its copies, a step, a validation batch, the examples, loading.</summary>
public enum EstimatePart
{
    Model,
    Step,
    Validation,
    Data,
    Loading,
}

/// <summary>
/// The data side of a job's estimate: the largest training batch (sequences × steps, and bytes a step of input takes),
/// how many examples there are, and the memory the examples take while loading and while training.
/// </summary>
public sealed record TrainingShape(
    int BatchSize, long Steps, long BytesPerStep, long TrainingExamples, long ValidationExamples, long DataBytes, long LoadingBytes)
{
    /// <summary>Examples per validation forward pass (the training loop's evaluation batch).</summary>
    public const int ValidationBatch = 256;
}
