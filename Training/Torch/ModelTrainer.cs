using RnnService.Training.Engine;

namespace RnnService.Training.Torch;

/// <summary>An optimizer over one model's parameters, and the training step that uses it.</summary>
public sealed class ModelTrainer : INetworkTrainer
{
    private readonly TrainerHandle handle;
    private readonly SequenceModel model;
    private double learningRate;

    public ModelTrainer(SequenceModel model, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var native = new NativeTrainerOptions
        {
            Optimizer = (int)options.Optimizer,
            Loss = (int)options.Loss,
            LearningRate = options.LearningRate,
            WeightDecay = options.WeightDecay,
            Beta1 = options.Beta1,
            Beta2 = options.Beta2,
            Epsilon = options.Epsilon,
            GradientClipNorm = options.GradientClipNorm,
            HuberDelta = options.HuberDelta,
        };
        TorchEngineException.Check(NativeMethods.rnn_trainer_create(model.Handle, native, out handle));
        this.model = model;
        Options = options;
        learningRate = options.LearningRate;
    }

    public TrainerOptions Options { get; }

    public double LearningRate
    {
        get => learningRate;
        set
        {
            TorchEngineException.Check(NativeMethods.rnn_trainer_set_learning_rate(handle, value));
            learningRate = value;
        }
    }

    /// <summary>Forward with dropout, loss, backward, gradient clipping, optimizer step; returns the batch's loss.</summary>
    public double Step(SequenceBatch batch, BatchTargets targets)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(targets);
        targets.EnsureFits(model.Spec, batch);
        using var pinnedBatch = batch.Pin();
        using var pinnedTargets = targets.Pin();
        TorchEngineException.Check(NativeMethods.rnn_trainer_step(handle, pinnedBatch.Native, pinnedTargets.Native, out var loss));
        return loss;
    }

    /// <summary>The optimizer's state (Adam's moments and step counts), for resuming a job.</summary>
    public byte[] SaveState()
    {
        TorchEngineException.Check(NativeMethods.rnn_trainer_save(handle, out var buffer));
        using (buffer) return buffer.ToArray();
    }

    /// <summary>Writes the optimizer's state to a file, straight from the engine (no copy of it is made in memory).</summary>
    public void SaveState(string path) => TorchEngineException.Check(NativeMethods.rnn_trainer_save_file(handle, path));

    /// <summary>Reads what <see cref="SaveState(string)"/> (or <see cref="SaveState()"/>, saved to a file) wrote.</summary>
    public void LoadState(string path) => TorchEngineException.Check(NativeMethods.rnn_trainer_load_file(handle, path));

    public unsafe void LoadState(ReadOnlySpan<byte> state)
    {
        fixed (byte* pointer = state)
        {
            TorchEngineException.Check(NativeMethods.rnn_trainer_load(handle, pointer, state.Length));
        }
    }

    public void Dispose() => handle.Dispose();
}
