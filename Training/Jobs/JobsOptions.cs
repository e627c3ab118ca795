using System.ComponentModel.DataAnnotations;
using RnnService.Domain.Budgets;
using RnnService.Domain.Jobs;
using RnnService.Training.Tasks;

namespace RnnService.Training.Jobs;

/// <summary>
/// The <c>Jobs</c> section: what one job may take (parameters, memory, time), how the queue is shared between clients,
/// and how often a job may bring its worker down. The API checks submissions against it; workers claim, time and
/// re-queue jobs by it.
/// </summary>
public sealed class JobsOptions : IValidatableObject
{
    public const string Section = "Jobs";

    /// <summary>Most jobs waiting in the queue; a submission beyond it gets 503 with Retry-After and is not stored.</summary>
    [Range(1, 10_000_000)]
    public int MaxQueued { get; set; } = 1000;

    /// <summary>What Retry-After says when the queue (or a client's share of it) is full, in seconds.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 30;

    /// <summary>
    /// Most learnable parameters of one model, trained or imported (default 100 million: 400 MB of float32 weights,
    /// 1.6 GB with gradients and Adam's moments while it trains).
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxParameters { get; set; } = 100_000_000;

    /// <summary>
    /// Most memory one job may need at its peak, by the estimate made when it is submitted, in MiB (default 8 GiB: a
    /// third of the 24 GiB machine the defaults are made for, so that serving keeps the rest). With
    /// <c>Worker:Concurrency</c> N, N such jobs may train at once.
    /// </summary>
    [Range(1, long.MaxValue / (1 << 20))]
    public long MaxTrainingMemoryMiB { get; set; } = 8192;

    /// <summary>Longest a job may train (ISO 8601, PT24H; or hh:mm:ss); also the default of <c>training.maxDuration</c>.</summary>
    public string MaxJobDuration { get; set; } = "PT24H";

    /// <summary>
    /// Times in a row a job's worker may die under it (its lease runs out) without the job writing a new checkpoint in
    /// between; then the job ends failed instead of taking the next worker down too.
    /// </summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Most jobs one client (API key, or client address without keys) may have queued; beyond, 429. 0: no limit.</summary>
    [Range(0, 10_000_000)]
    public int MaxQueuedPerClient { get; set; } = 100;

    /// <summary>
    /// Most jobs of one client that train at once over all workers; its other jobs wait while other clients' jobs are
    /// claimed. 0: no limit (the queue still takes clients in turn).
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxRunningPerClient { get; set; }

    /// <summary>The limits a submitted job is checked against.</summary>
    public JobLimits Limits => new(MaxParameters, MaxTrainingMemoryMiB * Sizes.MiB, Duration);

    private TimeSpan Duration => TrainingRequestResolver.ParseDuration(MaxJobDuration) ?? TimeSpan.Zero;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Duration <= TimeSpan.Zero)
            yield return new ValidationResult(
                $"Jobs:MaxJobDuration '{MaxJobDuration}' is not a positive duration (ISO 8601 such as PT24H, or hh:mm:ss).",
                [nameof(MaxJobDuration)]);
    }
}
