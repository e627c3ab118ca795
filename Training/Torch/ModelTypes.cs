namespace RnnService.Training.Torch;

/// <summary>One learnable tensor, named as in the PyTorch state_dict.</summary>
public sealed record ParameterInfo(string Name, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (product, dimension) => product * dimension);

    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}

public enum LossKind
{
    Mse = 0,
    Huber = 1,
    CrossEntropy = 2,

    /// <summary>The pinball loss at each of <see cref="BatchTargets.Quantiles"/>: the head gives every target at each quantile.</summary>
    Quantile = 3,
}

/// <summary>How the recurrent layers meet sequences of different lengths; both give the same results.</summary>
public enum SequencePath
{
    /// <summary>
    /// Packed on CUDA; on the CPU fused for LSTMs and GRUs (training and inference); RNN cells padded for training, and
    /// for inference padded with little padding and packed otherwise.
    /// </summary>
    Auto,

    /// <summary>pack_padded_sequence: no padded step runs, but libtorch's CPU backward is quadratic in the length.</summary>
    Packed,

    /// <summary>
    /// Padded batches through libtorch's operators, each sequence's own last step read out (reversed within its length
    /// backwards).
    /// </summary>
    Padded,

    /// <summary>
    /// The shim's own LSTM and GRU layers on the CPU: one matrix product and one pass over the gates per step (inference
    /// over the rows still running; training over padded batches, with their own backward). Where they do not apply
    /// (CUDA, RNN cells) the model runs as on <see cref="Auto"/>.
    /// </summary>
    Fused,
}

public enum OptimizerKind
{
    Adam = 0,
    AdamW = 1,
}

/// <summary>The outputs of a batch, and optionally the top layer's states at every step.</summary>
public sealed class ForwardResult(float[] outputs, int outputSize, float[]? states, int stateSize, int steps, long[] lengths, bool perStep = false)
{
    /// <summary>Flat (count, outputSize), or (count, steps, outputSize) for a per-step model (zeros past each length).</summary>
    public float[] Outputs { get; } = outputs;

    public bool PerStep { get; } = perStep;

    public int OutputSize { get; } = outputSize;

    /// <summary>Flat (count, steps, stateSize), zero past each length; null unless asked for.</summary>
    public float[]? States { get; } = states;

    /// <summary>directions × hidden: the forward direction's state, then the backward one's.</summary>
    public int StateSize { get; } = stateSize;

    public int Count => lengths.Length;

    /// <summary>One sequence's outputs: <c>outputSize</c> values, or (length, outputSize) for a per-step model.</summary>
    public ReadOnlySpan<float> Output(int sequence) =>
        PerStep
            ? Outputs.AsSpan(sequence * steps * OutputSize, (int)lengths[sequence] * OutputSize)
            : Outputs.AsSpan(sequence * OutputSize, OutputSize);

    /// <summary>(length, stateSize) for one sequence: its own steps only.</summary>
    public ReadOnlySpan<float> StatesOf(int sequence) =>
        States is null
            ? throw new InvalidOperationException("states were not requested")
            : States.AsSpan(sequence * steps * StateSize, (int)lengths[sequence] * StateSize);
}

public sealed record Evaluation(double Loss, float[] Outputs);

public sealed record TrainerOptions
{
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    public LossKind Loss { get; init; } = LossKind.Mse;

    public double LearningRate { get; init; } = 1e-3;

    public double WeightDecay { get; init; }

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Clip the global gradient norm to this; 0 or less turns clipping off.</summary>
    public double GradientClipNorm { get; init; } = 1.0;

    public double HuberDelta { get; init; } = 1.0;
}
