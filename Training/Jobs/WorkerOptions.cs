using System.ComponentModel.DataAnnotations;

namespace RnnService.Training.Jobs;

/// <summary>The training worker of this process (in the <c>worker</c> role).</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>Jobs this process trains at once.</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 1;

    /// <summary>How often an idle worker looks for queued jobs (it is also woken when this process queues one).</summary>
    [Range(0.05, 3600)]
    public double PollSeconds { get; set; } = 2;

    /// <summary>How long a claim holds without a heartbeat; after that another worker may resume the job.</summary>
    [Range(1, 86_400)]
    public double LeaseSeconds { get; set; } = 60;

    /// <summary>How often a running job's lease is renewed and its cancel flag read; well under the lease.</summary>
    [Range(0.05, 3600)]
    public double HeartbeatSeconds { get; set; } = 5;

    /// <summary>
    /// How often, at most, a running job's progress inside an epoch (batches done, throughput, time left) is written to
    /// the store; after every epoch it is written in any case.
    /// </summary>
    [Range(50, 3_600_000)]
    public int ProgressMilliseconds { get; set; } = 500;
}
