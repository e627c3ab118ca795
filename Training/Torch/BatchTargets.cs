using System.Buffers;

namespace RnnService.Training.Torch;

/// <summary>What a batch should produce: values (count × outputs) for MSE/Huber, or one class per sequence.</summary>
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
    /// The engine reads count × outputs values (or count classes) through a pointer: the arrays must hold
    /// exactly that many, or it would read past them.
    /// </summary>
    internal void EnsureFits(int outputSize)
    {
        if (Values is not null && Values.Length != (long)Count * outputSize)
            throw new ArgumentException(
                $"the targets hold {Values.Length} values, but {Count} rows of {outputSize} outputs need {(long)Count * outputSize}");
        if (Classes is not null && Classes.Length != Count)
            throw new ArgumentException($"the targets hold {Classes.Length} classes for {Count} rows");
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
