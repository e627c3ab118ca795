using RnnService.Training.Torch;

namespace RnnService.Training.Pipeline;

/// <summary>
/// One prepared example: features (<c>length × featureCount</c>, flat) or token ids, and its target — scaled values
/// (forecast, regression) or a class index; for a per-step model, a class at every step (<paramref name="StepClasses"/>),
/// or <paramref name="StepWidth"/> scaled values at every step (<c>Targets</c>, <c>length × StepWidth</c>).
/// </summary>
public sealed record Example(float[]? Features, long[]? Tokens, int Length, float[]? Targets, long Class, long[]? StepClasses = null, int StepWidth = 0);

/// <summary>Turns examples into the engine's padded batches.</summary>
public static class Batches
{
    /// <summary>A batch of <paramref name="indices"/>; <paramref name="quantiles"/>: the levels of a quantile loss.</summary>
    public static (SequenceBatch Batch, BatchTargets Targets) Build(
        IReadOnlyList<Example> examples, IReadOnlyList<int> indices, int featureCount, double[]? quantiles = null)
    {
        var chosen = indices.Select(i => examples[i]).ToArray();
        var batch = chosen[0].Tokens is not null
            ? SequenceBatch.FromTokens(chosen.Select(e => e.Tokens!).ToArray())
            : SequenceBatch.FromFeatures(chosen.Select(e => e.Features!).ToArray(), featureCount);
        var first = chosen[0];
        var targets = first.StepClasses is not null ? BatchTargets.FromStepClasses(chosen.Select(e => e.StepClasses!).ToArray(), batch.Steps)
            : first.StepWidth > 0 ? BatchTargets.FromStepValues(chosen.Select(e => e.Targets!).ToArray(), batch.Steps, first.StepWidth)
            : first.Targets is not null ? BatchTargets.FromValues(chosen.Select(e => e.Targets!).ToArray(), quantiles)
            : BatchTargets.FromClasses(chosen.Select(e => e.Class).ToArray());
        return (batch, targets);
    }

    /// <summary>
    /// Batches of similar lengths, so that little is spent on padding: examples sorted by length with a little seeded
    /// jitter (so that batches differ from epoch to epoch), cut into batches, the batches in a seeded random order.
    /// </summary>
    public static List<int[]> ByLength(IReadOnlyList<Example> examples, int batchSize, Random random)
    {
        var order = Enumerable.Range(0, examples.Count)
            .Select(i => (Index: i, Key: examples[i].Length * (1 + 0.1 * random.NextDouble())))
            .OrderBy(item => item.Key).Select(item => item.Index).ToArray();
        var batches = order.Chunk(batchSize).ToList();
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batches));
        return batches;
    }

    /// <summary>Batches in length order, for evaluation.</summary>
    public static List<int[]> InLengthOrder(IReadOnlyList<Example> examples, int batchSize) =>
        Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].Length).Chunk(batchSize).ToList();
}
