using System.Runtime;
using RnnService.Training.Torch;

namespace RnnService.Training.Pipeline;

/// <summary>
/// Gives memory back between the phases of a job and after it. Most of a job's memory is native (the engine's), which
/// the garbage collector does not see: without a nudge, the managed garbage a job leaves (its parsed dataset, its
/// examples, the copies made while loading) would wait for some later allocation to trigger a collection, and glibc
/// keeps the heap pages the engine freed for reuse (<c>Engine:KeepFreedMemoryMiB</c>).
/// </summary>
public static class MemoryRelease
{
    /// <summary>
    /// Jobs estimated below this peak are left to the collector's own pace: a forced full collection pauses the whole
    /// process (serving too) for milliseconds, which a small job's memory is not worth. Below it, what a job leaves is
    /// well within the 100 MiB a job may leave behind.
    /// </summary>
    public const long Threshold = 256L << 20;

    /// <summary>Whether a job of this estimate (JSON of a TrainingEstimate; null for jobs queued before estimates) is worth a release.</summary>
    public static bool Worthwhile(string? estimate) =>
        estimate is null || PeakOf(estimate) is not { } peak || peak >= Threshold;

    private static long? PeakOf(string estimate)
    {
        using var document = System.Text.Json.JsonDocument.Parse(estimate);
        return document.RootElement.TryGetProperty("peakBytes", out var peak) && peak.TryGetInt64(out var bytes) ? bytes : null;
    }

    /// <summary>Collects garbage now, large objects included and compacted: between loading and training.</summary>
    public static void Collect()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>
    /// When a job has ended, in any state: collects garbage and decommits what the managed heap no longer uses
    /// (<see cref="GCCollectionMode.Aggressive"/>), and hands the native heap's free pages back to the system.
    /// </summary>
    public static void AfterJob()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        TorchEngine.ReleaseFreeMemory();
    }

    /// <summary>This process's resident memory now, in MiB (what <c>ps -o rss</c> says).</summary>
    public static double ResidentMiB()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.WorkingSet64 / (1024.0 * 1024.0);
    }
}
