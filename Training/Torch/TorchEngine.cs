using System.Text;

namespace RnnService.Training.Torch;

/// <summary>What the loaded libtorch is and can do.</summary>
public sealed record EngineInfo(string LibtorchVersion, bool CudaAvailable, int CudaDeviceCount, int IntraOpThreads)
{
    /// <summary>The device that <c>auto</c> means on this machine.</summary>
    public EngineDevice DefaultDevice => CudaAvailable ? EngineDevice.Cuda() : EngineDevice.Cpu;
}

/// <summary>Process-wide engine settings. libtorch keeps these globally, so do we.</summary>
public static class TorchEngine
{
    public static unsafe EngineInfo Query()
    {
        TorchEngineException.Check(NativeMethods.rnn_engine_query(out var info));
        var version = new ReadOnlySpan<byte>(info.LibtorchVersion, 32);
        var end = version.IndexOf((byte)0);
        return new EngineInfo(
            Encoding.ASCII.GetString(end < 0 ? version : version[..end]),
            info.CudaAvailable != 0,
            info.CudaDeviceCount,
            info.IntraOpThreads);
    }

    /// <summary>Seeds libtorch's global generators (CPU and CUDA): dropout and weight initialisation.</summary>
    public static void SetSeed(ulong seed) => TorchEngineException.Check(NativeMethods.rnn_engine_set_seed(seed));

    /// <summary>Threads one libtorch operation may use; the rest of the machine is left to concurrent work.</summary>
    public static void SetIntraOpThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        TorchEngineException.Check(NativeMethods.rnn_engine_set_threads(threads));
    }

    /// <summary>Denormal floats are slow on x86 CPUs and never matter to these models.</summary>
    public static void SetFlushDenormals(bool on) =>
        TorchEngineException.Check(NativeMethods.rnn_engine_set_flush_denormal(on ? 1 : 0));

    /// <summary>
    /// TensorFloat-32 on GPUs that have it (Ampere and later), in cuDNN's RNNs and cuBLAS's float32 products: faster,
    /// with about three significant digits. Off, a model gives the same outputs on the GPU as on the CPU (within 1e-4).
    /// </summary>
    public static void SetAllowTf32(bool on) => TorchEngineException.Check(NativeMethods.rnn_engine_set_allow_tf32(on ? 1 : 0));

    /// <summary>
    /// oneDNN's CPU kernels where libtorch would pick them (its LSTM for inference). Off when the engine loads:
    /// libtorch's own kernels are the ones checked against PyTorch, and Debian's libtorch 2.6 computes wrong LSTM
    /// outputs through oneDNN.
    /// </summary>
    public static void SetOneDnn(bool on) => TorchEngineException.Check(NativeMethods.rnn_engine_set_onednn(on ? 1 : 0));

    /// <summary>
    /// Hands the heap's free pages back to the system now, however much <see cref="KeepFreedMemory"/> keeps: what a
    /// finished job freed should not stay resident (glibc's <c>malloc_trim</c>).
    /// </summary>
    public static void ReleaseFreeMemory() => TorchEngineException.Check(NativeMethods.rnn_engine_release_free_memory());

    /// <summary>
    /// How much free heap, in MiB, the service keeps by default (<c>Engine:KeepFreedMemoryMiB</c>) and the benchmarks
    /// keep as it does: 1,024 measured 0.19 M page faults a run on training workload (b), 256 MiB 1.0 M (GRU 2×256
    /// over 300 steps frees ~60 MB of gates a layer every step).
    /// </summary>
    public const int DefaultKeepFreedMemoryMiB = 1024;

    /// <summary>
    /// Keeps memory that libtorch frees for its next allocation instead of handing it back to the system (glibc):
    /// every block from the heap (none mapped on its own, however large) and up to <paramref name="keepMiB"/> MiB of
    /// free heap kept. Training allocates and frees the same large tensors every step; handed back, each costs page
    /// faults and zeroing again.
    /// </summary>
    public static void KeepFreedMemory(int keepMiB)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keepMiB);
        TorchEngineException.Check(NativeMethods.rnn_engine_keep_freed_memory(0, (long)keepMiB << 20));
    }
}
