using System.Buffers;

namespace RnnService.Training.Torch;

/// <summary>
/// Sequences of different lengths, padded to the longest, batch-first, in the layout the engine
/// reads without copying: features (count, steps, featureCount) or token ids (count, steps).
/// </summary>
public sealed class SequenceBatch
{
    private SequenceBatch(float[]? features, long[]? tokens, long[] lengths, int steps, int featureCount)
    {
        Features = features;
        Tokens = tokens;
        Lengths = lengths;
        Steps = steps;
        FeatureCount = featureCount;
    }

    public float[]? Features { get; }

    public long[]? Tokens { get; }

    public long[] Lengths { get; }

    public int Count => Lengths.Length;

    /// <summary>The padded length.</summary>
    public int Steps { get; }

    public int FeatureCount { get; }

    /// <summary>
    /// Sequences of float features, each flat in step order (length × featureCount values).
    /// </summary>
    public static SequenceBatch FromFeatures(IReadOnlyList<float[]> sequences, int featureCount)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        var lengths = new long[sequences.Count];
        for (var i = 0; i < sequences.Count; i++)
        {
            var values = sequences[i] ?? throw new ArgumentException($"sequence {i} is null", nameof(sequences));
            if (values.Length % featureCount != 0)
                throw new ArgumentException(
                    $"sequence {i} has {values.Length} values, not a whole number of steps of {featureCount} features",
                    nameof(sequences));
            lengths[i] = values.Length / featureCount;
        }

        var steps = (int)(lengths.Length == 0 ? 0 : lengths.Max());
        // (count, steps, featureCount), zero past each length
        var features = new float[checked(sequences.Count * steps * featureCount)];
        for (var i = 0; i < sequences.Count; i++)
            sequences[i].CopyTo(features, i * steps * featureCount);
        return new SequenceBatch(features, null, lengths, steps, featureCount);
    }

    /// <summary>Sequences of token ids (0 is padding; ids below the model's vocabulary size).</summary>
    public static SequenceBatch FromTokens(IReadOnlyList<long[]> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var lengths = new long[sequences.Count];
        for (var i = 0; i < sequences.Count; i++)
            lengths[i] = (sequences[i] ?? throw new ArgumentException($"sequence {i} is null", nameof(sequences))).Length;

        var steps = (int)(lengths.Length == 0 ? 0 : lengths.Max());
        // (count, steps)
        var tokens = new long[checked(sequences.Count * steps)];
        for (var i = 0; i < sequences.Count; i++)
            sequences[i].CopyTo(tokens, i * steps);
        return new SequenceBatch(null, tokens, lengths, steps, 1);
    }

    /// <summary>An already padded batch, taken as it is: the engine checks lengths against the padding.</summary>
    public static SequenceBatch FromPadded(float[] features, long[] lengths, int steps, int featureCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(lengths);
        if (features.Length != (long)lengths.Length * steps * featureCount)
            throw new ArgumentException(
                $"{features.Length} values do not fill {lengths.Length} sequences × {steps} steps × {featureCount} features",
                nameof(features));
        return new SequenceBatch(features, null, lengths, steps, featureCount);
    }

    /// <summary>Pins the arrays for one native call.</summary>
    internal Pinned Pin() => new(this);

    internal readonly unsafe struct Pinned : IDisposable
    {
        private readonly MemoryHandle features;
        private readonly MemoryHandle tokens;
        private readonly MemoryHandle lengths;

        public Pinned(SequenceBatch batch)
        {
            features = batch.Features.AsMemory().Pin();
            tokens = batch.Tokens.AsMemory().Pin();
            lengths = batch.Lengths.AsMemory().Pin();
            Native = new NativeBatch
            {
                Features = (float*)features.Pointer,
                Tokens = (long*)tokens.Pointer,
                Lengths = (long*)lengths.Pointer,
                BatchSize = batch.Count,
                Steps = batch.Steps,
                FeatureCount = batch.FeatureCount,
            };
        }

        public NativeBatch Native { get; }

        public void Dispose()
        {
            features.Dispose();
            tokens.Dispose();
            lengths.Dispose();
        }
    }
}
