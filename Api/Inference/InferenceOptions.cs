using System.ComponentModel.DataAnnotations;
using RnnService.Domain.Jobs;

namespace RnnService.Api.Inference;

/// <summary>Serving: request limits, the model cache and dynamic batching.</summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Where served models are loaded and run: auto (the first CUDA device when there is one), cpu or cuda.</summary>
    public DeviceChoice Device { get; set; } = DeviceChoice.Auto;

    /// <summary>Largest predict body, in bytes; larger ones get 413.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxRequestBytes { get; set; } = 16L << 20;

    /// <summary>Most sequences (or texts) in one request.</summary>
    [Range(1, 1_000_000)]
    public int MaxSequencesPerRequest { get; set; } = 1024;

    /// <summary>Most steps (or tokens) in one sequence.</summary>
    [Range(1, 10_000_000)]
    public int MaxStepsPerSequence { get; set; } = 10_000;

    /// <summary>Most state values (sequences × steps × directions × hidden) one <c>returnStates</c> answer may hold.</summary>
    [Range(1, int.MaxValue)]
    public int MaxStateValues { get; set; } = 4_000_000;

    /// <summary>Most sequences (time series: windows) one hidden-state match search reads of a version's dataset.</summary>
    [Range(1, 1_000_000)]
    public int MaxMatchSequences { get; set; } = 2000;

    /// <summary>Most bytes of a dataset's file one match search reads (whole lines from its start): its parsing's bound.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxMatchDatasetBytes { get; set; } = 32L << 20;

    /// <summary>Most steps one hidden-state match search runs the model over (its engine time and states are this times the width).</summary>
    [Range(1, 100_000_000)]
    public int MaxMatchSteps { get; set; } = 200_000;

    /// <summary>
    /// Most memory one request may need while it is served, by its estimate (inputs, the engine's forward passes, the
    /// states it returns), in MiB; a request over it is refused with a 400 before it runs.
    /// </summary>
    [Range(1, long.MaxValue / (1 << 20))]
    public long MaxRequestMemoryMiB { get; set; } = 1024;

    /// <summary>Most model versions kept loaded; the least recently used goes first.</summary>
    [Range(1, 10_000)]
    public int CacheMaxModels { get; set; } = 16;

    /// <summary>Most bytes of weights kept loaded.</summary>
    [Range(1, long.MaxValue)]
    public long CacheMaxBytes { get; set; } = 2L << 30;

    public BatchingOptions Batching { get; set; } = new();
}

/// <summary>
/// Dynamic batching: sequences of concurrent requests for one model version are gathered into one engine call, sorted
/// by length, and split back per request.
/// </summary>
public sealed class BatchingOptions
{
    /// <summary>Off: every request is its own engine call (for comparison; the benchmark runs both).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Most sequences in one engine call.</summary>
    [Range(1, 100_000)]
    public int MaxBatchSequences { get; set; } = 64;

    /// <summary>Longest a first sequence waits for company before its batch runs anyway, in milliseconds.</summary>
    [Range(0, 1000)]
    public double MaxWaitMilliseconds { get; set; } = 2;

    /// <summary>
    /// A batch's padded cells (sequences × longest length) may be at most this many times its real steps; a sequence
    /// that would push past it starts the next batch. Packing keeps padding out of the recurrence, but not out of
    /// memory and copies: this keeps one long sequence from inflating a batch of short ones.
    /// </summary>
    [Range(1.0, 1000.0)]
    public double MaxPaddingRatio { get; set; } = 3;

    /// <summary>
    /// Engine calls of one model that may run at once; while all are busy, arriving sequences gather into the next
    /// batch. 0 means one per group of intra-op threads on the CPU (cores ÷ libtorch's intra-op threads) and two on a
    /// GPU (one runs while the next is made ready; the GPU runs one batch at a time best, as large as it can be).
    /// </summary>
    [Range(0, 1024)]
    public int MaxConcurrentBatches { get; set; }

    /// <summary>
    /// Most sequences waiting for one model version; a request that would go past it gets 503 with Retry-After (a request
    /// arriving at an empty queue is always taken, up to <see cref="InferenceOptions.MaxSequencesPerRequest"/>).
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxQueuedSequences { get; set; } = 8192;
}
