using System.Text;
using RnnService.Domain.Models;
using RnnService.Training.Engine;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Training.Torch;

/// <summary>
/// One network of the model family in the native engine: embedding (token models), LSTM / GRU /
/// RNN, linear head on the final hidden state at each sequence's own length.
/// </summary>
public sealed class SequenceModel : ISequenceNetwork
{
    private readonly ModelHandle handle;

    private SequenceModel(ModelHandle handle, ModelSpec spec, EngineDevice device)
    {
        this.handle = handle;
        Spec = spec;
        Device = device;
        TorchEngineException.Check(NativeMethods.rnn_model_parameter_count(handle, out var count));
        ParameterCount = count;
        Parameters = DescribeParameters(handle);
    }

    public ModelSpec Spec { get; }

    public EngineDevice Device { get; }

    /// <summary>What PyTorch's <c>sum(p.numel() for p in model.parameters())</c> says.</summary>
    public long ParameterCount { get; }

    /// <summary>Names and shapes, in state_dict order.</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    internal ModelHandle Handle => handle;

    /// <summary>How this model's recurrent layers meet sequences of different lengths; Auto unless a test forces one.</summary>
    public SequencePath SequencePath
    {
        get;
        set
        {
            TorchEngineException.Check(NativeMethods.rnn_model_set_sequence_path(handle, (int)value));
            field = value;
        }
    }

    /// <summary>A freshly initialised model. With a seed its weights depend on nothing else.</summary>
    public static SequenceModel Create(ModelSpec spec, EngineDevice? device = null, long? seed = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = spec.Validate();
        if (errors.Count > 0)
            throw new ArgumentException(
                "invalid model spec: " + string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}")), nameof(spec));
        if (seed is < 0) throw new ArgumentOutOfRangeException(nameof(seed), seed, "a seed must not be negative");

        var native = new NativeModelSpec
        {
            Cell = (int)spec.Cell,
            Bidirectional = spec.Bidirectional ? 1 : 0,
            InputSize = spec.InputSize,
            HiddenSize = spec.HiddenSize,
            NumLayers = spec.NumLayers,
            Dropout = spec.Dropout,
            VocabularySize = spec.VocabularySize,
            EmbeddingDim = spec.HasEmbedding ? spec.InputSize : 0,
            OutputSize = spec.OutputSize,
            Pooling = (int)spec.Pooling,
            PerStep = spec.PerStep ? 1 : 0,
            EmbeddingDropout = spec.EmbeddingDropout,
        };
        var target = device ?? EngineDevice.Cpu;
        TorchEngineException.Check(NativeMethods.rnn_model_create(native, target.NativeIndex, seed ?? -1, out var handle));
        return new SequenceModel(handle, spec, target);
    }

    /// <summary>A model with the weights of a PyTorch state_dict file (the service's own: no size limit beyond the spec's).</summary>
    public static SequenceModel Load(ModelSpec spec, Stream weights, EngineDevice? device = null)
    {
        var stateDict = StateDictReader.Read(weights, long.MaxValue, spec.CountParameters());
        var model = Create(spec, device);
        try
        {
            model.LoadStateDict(stateDict);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Output rows a batch gives: one per sequence, or one per padded step for a per-step model.</summary>
    public int OutputRows(SequenceBatch batch) => checked(Spec.PerStep ? batch.Count * batch.Steps : batch.Count);

    /// <summary>Inference: no autograd, dropout off. Outputs are the head's (or their softmax).</summary>
    public unsafe ForwardResult Forward(SequenceBatch batch, bool returnStates = false, bool softmax = false)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var outputs = new float[checked(OutputRows(batch) * Spec.OutputSize)];
        var states = returnStates ? new float[checked(batch.Count * batch.Steps * Spec.StateSize)] : null;
        using var pinned = batch.Pin();
        fixed (float* outputPointer = outputs)
        fixed (float* statePointer = states)
        {
            var flags = softmax ? NativeMethods.ForwardSoftmax : 0;
            TorchEngineException.Check(NativeMethods.rnn_model_forward(handle, pinned.Native, flags, outputPointer, statePointer));
        }

        return new ForwardResult(outputs, Spec.OutputSize, states, Spec.StateSize, batch.Steps, batch.Lengths, Spec.PerStep);
    }

    /// <summary>The loss of a batch and its outputs, without autograd and with dropout off.</summary>
    public unsafe Evaluation Evaluate(SequenceBatch batch, BatchTargets targets, LossKind loss, double huberDelta = 1.0)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(targets);
        targets.EnsureFits(Spec, batch);
        var outputs = new float[checked(OutputRows(batch) * Spec.OutputSize)];
        using var pinnedBatch = batch.Pin();
        using var pinnedTargets = targets.Pin();
        double value;
        fixed (float* outputPointer = outputs)
        {
            TorchEngineException.Check(NativeMethods.rnn_model_evaluate(
                handle, pinnedBatch.Native, pinnedTargets.Native, (int)loss, huberDelta, out value, outputPointer));
        }

        return new Evaluation(value, outputs);
    }

    /// <summary>
    /// Every weight, one parameter after another in state_dict order, into <paramref name="destination"/> (which must hold
    /// exactly <see cref="ParameterCount"/> floats): one bulk copy out of the engine, into an array the caller may reuse.
    /// </summary>
    public unsafe void ReadParameters(float[] destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.LongLength != ParameterCount)
            throw new ArgumentException($"the model has {ParameterCount} parameters; the array holds {destination.LongLength}", nameof(destination));
        fixed (float* pointer = destination)
        {
            TorchEngineException.Check(NativeMethods.rnn_model_read_parameters(handle, pointer, destination.LongLength));
        }
    }

    /// <summary>Replaces every weight from <paramref name="source"/>, laid out as <see cref="ReadParameters"/> gives it.</summary>
    public unsafe void WriteParameters(float[] source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.LongLength != ParameterCount)
            throw new ArgumentException($"the model has {ParameterCount} parameters; the array holds {source.LongLength}", nameof(source));
        fixed (float* pointer = source)
        {
            TorchEngineException.Check(NativeMethods.rnn_model_write_parameters(handle, pointer, source.LongLength));
        }
    }

    /// <summary>A copy of the weights, named and shaped as PyTorch's state_dict.</summary>
    public StateDict GetStateDict()
    {
        var values = new float[ParameterCount];
        ReadParameters(values);
        var tensors = new List<NamedTensor>(Parameters.Count);
        long offset = 0;
        foreach (var parameter in Parameters)
        {
            // The model's parameters fit one array, so every offset and count fits an int.
            tensors.Add(new NamedTensor(parameter.Name, parameter.Shape, values.AsSpan(checked((int)offset), checked((int)parameter.ElementCount)).ToArray()));
            offset += parameter.ElementCount;
        }

        return new StateDict(tensors);
    }

    /// <summary>
    /// Replaces every weight, as PyTorch's strict <c>load_state_dict</c>: missing, unexpected and mis-shaped keys
    /// are all reported at once, and the model is left unchanged.
    /// </summary>
    public void LoadStateDict(StateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var values = new float[ParameterCount];
        stateDict.CopyTo(Parameters, values);
        WriteParameters(values);
    }

    /// <summary>Writes the weights as a file that Python's <c>torch.load</c> reads.</summary>
    public void SaveWeights(Stream destination)
    {
        var values = new float[ParameterCount];
        ReadParameters(values);
        StateDictWriter.Write(destination, Parameters, values);
    }

    /// <summary>
    /// Reads weights written by <c>torch.save(model.state_dict())</c> or by <see cref="SaveWeights"/>. For the service's
    /// own files (checkpoints, registered versions): no size limit beyond the model's own.
    /// </summary>
    public void LoadWeights(Stream source) => LoadStateDict(StateDictReader.Read(source, long.MaxValue, ParameterCount));

    public void Dispose() => handle.Dispose();

    private static IReadOnlyList<ParameterInfo> DescribeParameters(ModelHandle handle)
    {
        TorchEngineException.Check(NativeMethods.rnn_model_describe_parameters(handle, out var buffer));
        using (buffer)
        {
            // "name\td0,d1,...\n" per parameter
            return Encoding.UTF8.GetString(buffer.ToArray())
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('\t'))
                .Select(parts => new ParameterInfo(parts[0], parts[1].Split(',').Select(long.Parse).ToArray()))
                .ToList();
        }
    }
}
