using System.Buffers;
using RnnService.Domain.Models;

namespace RnnService.Training.Torch;

/// <summary>
/// What a batch should produce: values (count × outputs) for MSE/Huber, or one class per sequence; for a per-step model
/// a row per padded step (count × steps), of which the engine reads each sequence's real steps only.
/// </summary>
public sealed class BatchTargets
{
    private BatchTargets(float[]? values, long[]? classes, int count)
    {
        Values = values;
        Classes = classes;
        Count = count;
    }

    public float[]? Values { get; }

    public long[]? Classes { get; }

    public int Count { get; }

    /// <summary>
    /// The quantile levels of the quantile loss: the head gives each target value at each (target-major), so it has
    /// <c>Quantiles.Length</c> outputs for every value here. Not read by the other losses.
    /// </summary>
    public double[]? Quantiles { get; init; }

    /// <summary>Flat (count, outputs) regression targets.</summary>
    public static BatchTargets FromValues(float[] values, int count)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new BatchTargets(values, null, count);
    }

    /// <summary>A row of values per sequence; <paramref name="quantiles"/>: the levels, for the quantile loss.</summary>
    public static BatchTargets FromValues(IReadOnlyList<float[]> rows, double[]? quantiles = null) =>
        new(rows.SelectMany(row => row).ToArray(), null, rows.Count) { Quantiles = quantiles };

    public static BatchTargets FromClasses(long[] classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        return new BatchTargets(null, classes, classes.Length);
    }

    /// <summary>
    /// Per-step values: each sequence's (length × <paramref name="outputs"/>) values, padded with zeros to
    /// <paramref name="steps"/> rows.
    /// </summary>
    public static BatchTargets FromStepValues(IReadOnlyList<float[]> sequences, int steps, int outputs)
    {
        var values = new float[checked(sequences.Count * steps * outputs)];
        for (var i = 0; i < sequences.Count; i++) sequences[i].CopyTo(values, i * steps * outputs);
        return new BatchTargets(values, null, sequences.Count);
    }

    /// <summary>Per-step classes: each sequence's one class per step, padded (with class 0, which is not read) to <paramref name="steps"/>.</summary>
    public static BatchTargets FromStepClasses(IReadOnlyList<long[]> sequences, int steps)
    {
        var classes = new long[checked(sequences.Count * steps)];
        for (var i = 0; i < sequences.Count; i++) sequences[i].CopyTo(classes, i * steps);
        return new BatchTargets(null, classes, sequences.Count);
    }

    /// <summary>
    /// The engine reads rows × outputs values (or a class per row) through a pointer, a row per sequence or per padded
    /// step: the arrays must hold exactly that many, or it would read past them.
    /// </summary>
    internal void EnsureFits(ModelSpec spec, SequenceBatch batch)
    {
        // A count that differs from the batch's is the engine's to report.
        var rows = spec.PerStep ? (long)Count * batch.Steps : Count;
        var width = Quantiles is { Length: > 0 } levels ? spec.OutputSize / levels.Length : spec.OutputSize;
        if (Values is not null && Values.Length != rows * width)
            throw new ArgumentException(
                $"the targets hold {Values.Length} values, but {rows} rows of {width} target values need {rows * width}");
        if (Classes is not null && Classes.Length != rows)
            throw new ArgumentException($"the targets hold {Classes.Length} classes for {rows} rows");
    }

    internal Pinned Pin() => new(this);

    internal readonly unsafe struct Pinned : IDisposable
    {
        private readonly MemoryHandle values;
        private readonly MemoryHandle classes;
        private readonly MemoryHandle quantiles;

        public Pinned(BatchTargets targets)
        {
            values = targets.Values.AsMemory().Pin();
            classes = targets.Classes.AsMemory().Pin();
            quantiles = targets.Quantiles.AsMemory().Pin();
            Native = new NativeTargets
            {
                Values = (float*)values.Pointer, Classes = (long*)classes.Pointer, BatchSize = targets.Count,
                Quantiles = (double*)quantiles.Pointer, QuantileCount = targets.Quantiles?.Length ?? 0,
            };
        }

        public NativeTargets Native { get; }

        public void Dispose()
        {
            values.Dispose();
            classes.Dispose();
            quantiles.Dispose();
        }
    }
}
