using RnnService.Domain.Models;

namespace RnnService.Domain.Budgets;

/// <summary>
/// What the engine allocates, as measured: peak resident bytes of one training step and of one forward pass, per cell
/// and direction, in units of a batch's hidden states (4 bytes × sequences × steps × hidden). libtorch's CPU recurrence
/// keeps every step's gates and states for the backward pass and precomputes each layer's input projection for all
/// steps, so a step's memory grows with layers × (batch × steps × hidden) at a rate only a measurement gives:
/// <c>bench/reliability.sh engine</c> measures every factor here again and prints them beside these (measured on libtorch
/// 1.13.1, CPU; another libtorch, or CUDA, may allocate otherwise).
/// </summary>
public static class EngineMemory
{
    /// <summary>libtorch's own working memory on top of the tensors: allocator arenas, BLAS buffers (measured 25–30 MiB).</summary>
    public const long WorkingBytes = 32 * Sizes.MiB;

    /// <summary>
    /// Bytes of one training step's activations: the forward's saved tensors, the backward's gradients of them, and the
    /// inputs. <c>(α·layers + β)</c> units of <c>4·batch·steps·hidden</c> bytes, plus <c>γ</c> times the input batch.
    /// The bidirectional path runs each layer per direction and flips its input and output, so it has factors of its own.
    /// </summary>
    public static long TrainingStep(ModelSpec spec, long batch, long steps)
    {
        var (alpha, beta) = StepFactors(spec.Cell, spec.Bidirectional);
        var unit = Sizes.Product(4, batch, steps, spec.HiddenSize);
        var input = Sizes.Product(4, batch, steps, spec.InputSize);
        // Pooling other than the last state reads (and keeps for the backward pass) the top layer's masked outputs.
        // So does a per-step model, which also keeps a head output (and its gradient, mask and selection) at every step.
        var pooled = spec.Pooling == PoolingKind.Last && !spec.PerStep ? 0 : Sizes.Product(2 * 4, batch, steps, spec.StateSize);
        var perStep = spec.PerStep ? Sizes.Product(4 * 4, batch, steps, spec.OutputSize) : 0;
        return Sizes.Sum(Sizes.Scale(unit, alpha * spec.NumLayers + beta), Sizes.Scale(input, spec.Bidirectional ? 3 : 1.5), Sizes.Sum(pooled, perStep));
    }

    /// <summary>
    /// Bytes of one forward pass without autograd (validation, serving): one layer's input projection, gates and output
    /// at a time, <c>φ</c> units of <c>4·sequences·steps·hidden·directions</c>; the input and its packed copy; and the
    /// per-step states when they are returned.
    /// </summary>
    public static long Forward(ModelSpec spec, long sequences, long steps, bool withStates = false)
    {
        var phi = ForwardFactor(spec.Cell);
        var unit = Sizes.Product(4, sequences, steps, spec.StateSize);
        var input = Sizes.Product(4, sequences, steps, spec.InputSize);
        // A per-step model's outputs: the head's at every step, and the masked copy that is returned.
        var perStep = spec.PerStep ? Sizes.Product(2 * 4, sequences, steps, spec.OutputSize) : 0;
        return Sizes.Sum(Sizes.Scale(unit, phi + (withStates || spec.PerStep ? 1 : 0)), Sizes.Scale(input, 2), perStep);
    }

    /// <summary>
    /// A training step's <c>(α, β)</c>, measured at batches of 128 × 200 steps × 512 units with 1–3 layers (least squares
    /// over the layers) and checked at other sizes (64–2,048 sequences, 50–1,000 steps, 64–1,024 units: within 10%).
    /// </summary>
    public static (double Alpha, double Beta) StepFactors(CellKind cell, bool bidirectional) => (cell, bidirectional) switch
    {
        (CellKind.Lstm, false) => (9.8, 7.4),
        (CellKind.Lstm, true) => (24.7, 1.9),
        (CellKind.Gru, false) => (8.75, 5.4),
        (CellKind.Gru, true) => (23.2, -1.8),
        (_, false) => (3.45, 1.95),
        (_, true) => (12.75, -3.05),
    };

    /// <summary>
    /// A forward pass's <c>φ</c>: the largest measured over 1–3 layers and both directions (one layer's tensors are alive
    /// at a time), the first pass of a fresh process.
    /// </summary>
    public static double ForwardFactor(CellKind cell) => cell switch { CellKind.Lstm => 8.1, CellKind.Gru => 7.1, _ => 5.0 };

    /// <summary>
    /// The model while it trains: weights, their gradients and Adam's two moments (16 bytes a parameter), and the
    /// temporary Adam makes for its largest tensor at each step.
    /// </summary>
    public static long TrainedModel(ModelSpec spec) =>
        Sizes.Sum(Sizes.Product(16, spec.CountParameters()), Sizes.Product(4, LargestTensor(spec)));

    /// <summary>Elements of the model's largest parameter tensor (Adam's temporaries and the state_dict reader work per tensor).</summary>
    public static long LargestTensor(ModelSpec spec)
    {
        long gateRows = (long)spec.Gates * spec.HiddenSize;
        var largest = Math.Max(gateRows * spec.HiddenSize, gateRows * Math.Max(spec.InputSize, spec.NumLayers > 1 ? spec.StateSize : 0));
        if (spec.HasEmbedding) largest = Math.Max(largest, (long)spec.VocabularySize * spec.InputSize);
        return Math.Max(largest, (long)spec.OutputSize * spec.StateSize);
    }
}
