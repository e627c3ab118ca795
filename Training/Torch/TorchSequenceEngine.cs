using RnnService.Domain.Models;
using RnnService.Training.Engine;

namespace RnnService.Training.Torch;

/// <summary>The engine the service runs: libtorch through RnnService's C ABI (<c>Training/Native</c>).</summary>
public sealed class TorchSequenceEngine : ISequenceEngine
{
    public static TorchSequenceEngine Instance { get; } = new();

    public ISequenceNetwork Create(ModelSpec spec, EngineDevice? device = null, long? seed = null) => SequenceModel.Create(spec, device, seed);

    public ISequenceNetwork Load(ModelSpec spec, Stream weights, EngineDevice? device = null) => SequenceModel.Load(spec, weights, device);

    public INetworkTrainer Trainer(ISequenceNetwork network, TrainerOptions options) =>
        new ModelTrainer(network as SequenceModel ?? throw new ArgumentException("the network is not this engine's", nameof(network)), options);

    public void SetSeed(ulong seed) => TorchEngine.SetSeed(seed);
}
