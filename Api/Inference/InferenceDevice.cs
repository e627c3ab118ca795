using RnnService.Domain.Jobs;
using RnnService.Training.Torch;

namespace RnnService.Api.Inference;

/// <summary>Where this process loads and runs the models it serves, resolved once from <c>Inference:Device</c>.</summary>
public sealed record InferenceDevice(EngineDevice Device)
{
    public const string NoCuda = "Inference:Device is cuda, but there is no CUDA device on this server; use auto or cpu.";

    public static InferenceDevice Resolve(DeviceChoice choice, EngineInfo engine) => choice switch
    {
        DeviceChoice.Cpu => new(EngineDevice.Cpu),
        DeviceChoice.Cuda when !engine.CudaAvailable => throw new InvalidOperationException(NoCuda),
        DeviceChoice.Cuda => new(EngineDevice.Cuda()),
        _ => new(engine.DefaultDevice),
    };
}
