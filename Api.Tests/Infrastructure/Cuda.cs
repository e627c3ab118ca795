using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Infrastructure;

/// <summary>
/// Whether these tests run on a CUDA device. Without one the CUDA tests are skipped, saying why; with
/// <c>RNN_TEST_REQUIRE_CUDA=1</c> (the GPU verification script sets it) they run anyway and fail, so that a shim
/// built against a CPU-only libtorch cannot pass for a GPU run.
/// </summary>
public static class Cuda
{
    public static bool Available { get; } = TorchEngine.Query().CudaAvailable;

    public static bool Required { get; } = Environment.GetEnvironmentVariable("RNN_TEST_REQUIRE_CUDA") == "1";

    internal static string? SkipReason => Available || Required ? null : "no CUDA device on this machine";
}

/// <summary>A fact that needs a CUDA device.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute() => Skip = Cuda.SkipReason;
}

/// <summary>A theory that needs a CUDA device.</summary>
public sealed class CudaTheoryAttribute : TheoryAttribute
{
    public CudaTheoryAttribute() => Skip = Cuda.SkipReason;
}
