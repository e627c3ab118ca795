using RnnService.Domain.Models;
using RnnService.Training.Torch;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Training.Engine;

/// <summary>
/// What training and serving need from a tensor engine: networks of the model family, an optimizer's training step,
/// the generator's seed. The service's is libtorch through our shim (<see cref="TorchSequenceEngine"/>); tasks, the
/// training loop, the model cache and the endpoints see only these interfaces, so another backend is one more
/// implementation of them.
/// </summary>
public interface ISequenceEngine
{
    /// <summary>A freshly initialised network; with a seed its weights depend on nothing else.</summary>
    ISequenceNetwork Create(ModelSpec spec, EngineDevice? device = null, long? seed = null);

    /// <summary>A network with the weights of a PyTorch state_dict file.</summary>
    ISequenceNetwork Load(ModelSpec spec, Stream weights, EngineDevice? device = null);

    /// <summary>An optimizer over the network's parameters and the training step that uses it.</summary>
    INetworkTrainer Trainer(ISequenceNetwork network, TrainerOptions options);

    /// <summary>Seeds the engine's generator (dropout), so that a batch trains the same wherever it runs.</summary>
    void SetSeed(ulong seed);
}

/// <summary>One network of the model family: its forward pass, its loss, and its weights in state_dict order.</summary>
public interface ISequenceNetwork : IDisposable
{
    ModelSpec Spec { get; }

    EngineDevice Device { get; }

    long ParameterCount { get; }

    /// <summary>Names and shapes, in state_dict order.</summary>
    IReadOnlyList<ParameterInfo> Parameters { get; }

    /// <summary>Inference: no autograd, dropout off.</summary>
    ForwardResult Forward(SequenceBatch batch, bool returnStates = false, bool softmax = false);

    /// <summary>The loss of a batch and its outputs, without autograd and with dropout off.</summary>
    Evaluation Evaluate(SequenceBatch batch, BatchTargets targets, LossKind loss, double huberDelta = 1.0);

    /// <summary>Every weight, flat in state_dict order, into an array of exactly <see cref="ParameterCount"/> floats.</summary>
    void ReadParameters(float[] destination);

    void WriteParameters(float[] source);

    /// <summary>Replaces every weight as PyTorch's strict <c>load_state_dict</c> does, or changes nothing and says what is wrong.</summary>
    void LoadStateDict(StateDict stateDict);

    /// <summary>Reads a state_dict file (PyTorch's or ours).</summary>
    void LoadWeights(Stream source);

    /// <summary>Writes the weights as a file that Python's <c>torch.load</c> reads.</summary>
    void SaveWeights(Stream destination);
}

/// <summary>An optimizer over one network's parameters.</summary>
public interface INetworkTrainer : IDisposable
{
    /// <summary>Forward with dropout, loss, backward, gradient clipping, optimizer step; returns the batch's loss.</summary>
    double Step(SequenceBatch batch, BatchTargets targets);

    double LearningRate { get; set; }

    /// <summary>The optimizer's state, to a file, for resuming a job.</summary>
    void SaveState(string path);

    void LoadState(string path);
}
