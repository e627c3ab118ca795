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

    /// <summary>Flat (count, outputs) regression targets.</summary>
    public static BatchTargets FromValues(float[] values, int count)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new BatchTargets(values, null, count);
    }

    public static BatchTargets FromValues(IReadOnlyList<float[]> rows) =>
        new(rows.SelectMany(row => row).ToArray(), null, rows.Count);

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
        if (Values is not null && Values.Length != rows * spec.OutputSize)
            throw new ArgumentException(
                $"the targets hold {Values.Length} values, but {rows} rows of {spec.OutputSize} outputs need {rows * spec.OutputSize}");
        if (Classes is not null && Classes.Length != rows)
            throw new ArgumentException($"the targets hold {Classes.Length} classes for {rows} rows");
    }

    internal Pinned Pin() => new(this);

    internal readonly unsafe struct Pinned : IDisposable
    {
        private readonly MemoryHandle values;
        private readonly MemoryHandle classes;

        public Pinned(BatchTargets targets)
        {
            values = targets.Values.AsMemory().Pin();
            classes = targets.Classes.AsMemory().Pin();
            Native = new NativeTargets { Values = (float*)values.Pointer, Classes = (long*)classes.Pointer, BatchSize = targets.Count };
        }

        public NativeTargets Native { get; }

        public void Dispose()
        {
            values.Dispose();
            classes.Dispose();
        }
    }
}
