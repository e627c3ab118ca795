using RnnService.Domain.Datasets;
using RnnService.Domain.Models;

namespace RnnService.Domain.Budgets;

/// <summary>
/// What a prediction job holds at its peak, worked out before it is queued: its dataset parsed (all of it, as the run
/// reads it), the model's weights, and one chunk's forward pass. Checked against the same per-job limit as training
/// (<c>Jobs:MaxTrainingMemoryMiB</c>): both run on the workers.
/// </summary>
public static class PredictionBudget
{
    /// <param name="steps">The steps the network reads for one item: a forecast's window (with its horizon when it reads
    /// the future), a sequence's longest length.</param>
    /// <param name="chunk">Items run in one engine call.</param>
    public static long PeakBytes(ModelSpec spec, DatasetSummary dataset, long fileBytes, long steps, int chunk)
    {
        var items = Math.Max(1, Math.Min(chunk, dataset.Kind == DatasetKind.TimeSeries ? dataset.Series : dataset.Rows));
        return Sizes.Sum(
            TrainingShapes.Parsed(dataset, fileBytes), Sizes.Product(4, spec.CountParameters()),
            EngineMemory.Forward(spec, items, Math.Max(1, steps)), EngineMemory.WorkingBytes);
    }
}
