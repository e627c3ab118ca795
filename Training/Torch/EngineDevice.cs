namespace RnnService.Training.Torch;

public enum DeviceKind
{
    Cpu,
    Cuda,
}

/// <summary>Where a model's weights live and its batches run: the CPU or one CUDA device.</summary>
public readonly record struct EngineDevice(DeviceKind Kind, int Index = 0)
{
    public static EngineDevice Cpu => new(DeviceKind.Cpu);

    public static EngineDevice Cuda(int index = 0) => new(DeviceKind.Cuda, index);

    /// <summary>The engine's own number: -1 for the CPU, k for CUDA device k.</summary>
    internal int NativeIndex => Kind == DeviceKind.Cpu ? -1 : Index;

    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";
}
