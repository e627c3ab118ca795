using RnnService.Domain.Models;

namespace RnnService.Domain.Budgets;

/// <summary>
/// What one predict request needs while it is served: its sequences as numbers (read from the JSON, prepared for the
/// model, copied into each engine call's batch), the engine's forward passes (the batcher cuts a request into calls of
/// at most <c>maxBatch</c> sequences, longest first, and runs up to <c>concurrentCalls</c> of them at once), the
/// outputs it returns (a sequence's, or a per-step model's at every step), and the states it returns (a native copy,
/// the managed result, the per-step arrays and their JSON text).
/// </summary>
public static class RequestMemory
{
    /// <summary>Bytes a returned state value takes on its way out: 4 native, 4 managed, 4 per-step, about 16 as JSON text.</summary>
    public const long PerStateValue = 28;

    /// <summary>Bytes an output value takes on its way out: 4 native, 4 managed, 8 as a double, about 16 as JSON text.</summary>
    public const long PerOutputValue = 32;

    /// <param name="lengths">Each sequence's steps.</param>
    /// <param name="bytesPerStep">Bytes one prepared step takes (4 × features, or 8 for a token id).</param>
    public static long Estimate(
        ModelSpec spec, IReadOnlyList<int> lengths, long bytesPerStep, bool withStates, int maxBatch, int concurrentCalls)
    {
        long steps = 0;
        foreach (var length in lengths) steps += length;
        var inputs = Sizes.Product(3, steps, bytesPerStep);
        var states = withStates ? Sizes.Product(PerStateValue, steps, spec.StateSize) : 0;
        var outputs = Sizes.Product(PerOutputValue, spec.PerStep ? steps : lengths.Count, spec.OutputSize);

        // The first calls take the longest sequences; each is padded to its own longest.
        var longestFirst = lengths.OrderDescending().ToArray();
        long engine = 0;
        var batch = Math.Max(1, maxBatch);
        for (var call = 0; call < Math.Max(1, concurrentCalls) && call * (long)batch < longestFirst.Length; call++)
        {
            var count = Math.Min(batch, longestFirst.Length - call * batch);
            engine = Sizes.Sum(engine, EngineMemory.Forward(spec, count, longestFirst[call * batch], withStates));
        }
        return Sizes.Sum(inputs, states, outputs, engine);
    }
}
