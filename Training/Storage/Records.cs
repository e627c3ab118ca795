using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;

namespace RnnService.Training.Storage;

/// <summary>A record the API lists a page at a time, newest first: ordered by creation time, then id.</summary>
public interface IListedRecord
{
    string Id { get; }

    DateTime CreatedAt { get; }
}

/// <summary>An uploaded dataset: its file (under the data directory) and what parsing found in it.</summary>
public sealed class DatasetRecord : IListedRecord
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public DatasetFormat Format { get; set; }

    public DatasetKind Kind { get; set; }

    /// <summary>The stored file, relative to the datasets directory; named by the id, never by the client.</summary>
    public required string FileName { get; set; }

    public long SizeBytes { get; set; }

    /// <summary>The <see cref="DatasetSummary"/>, as JSON.</summary>
    public required string Summary { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// A job on the queue, its lease, and everything it has reported: a training job, or (<see cref="Kind"/>) a prediction
/// job, which shares the queue's claims, leases, resumption and limits.
/// </summary>
public sealed class TrainingJobRecord : IListedRecord
{
    public required string Id { get; set; }

    public JobKind Kind { get; set; }

    public JobState State { get; set; }

    public required string DatasetId { get; set; }

    public required string ModelName { get; set; }

    /// <summary>The request with every default filled in, as JSON.</summary>
    public required string Request { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? StartedAt { get; set; }

    public DateTime? FinishedAt { get; set; }

    public DateTime UpdatedAt { get; set; }

    /// <summary>The latest epoch's figures, as JSON.</summary>
    public string? Progress { get; set; }

    /// <summary>One entry per epoch, as a JSON array.</summary>
    public string History { get; set; } = "[]";

    /// <summary>The best epoch's validation metrics, as JSON.</summary>
    public string? Metrics { get; set; }

    public string? Error { get; set; }

    public int? ModelVersion { get; set; }

    /// <summary>Where the job trains (cpu, cuda:0), once a worker has claimed it.</summary>
    public string? Device { get; set; }

    /// <summary>How many times a worker has claimed the job; more than one means it was resumed.</summary>
    public int Attempts { get; set; }

    /// <summary>The worker holding the lease, while running.</summary>
    public string? LeaseOwner { get; set; }

    public DateTime? LeaseExpiresAt { get; set; }

    public bool CancelRequested { get; set; }

    /// <summary>Who submitted it (<c>key:name</c>, or <c>client:address</c> without keys): the queue's per-client limits count by it.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>The <c>TrainingEstimate</c> made at submission, as JSON.</summary>
    public string? Estimate { get; set; }

    /// <summary>Why a succeeded job stopped training.</summary>
    public StopReason? StoppedBy { get; set; }

    /// <summary>
    /// Times in a row the job's worker died under it (its lease ran out) since the job last wrote a checkpoint; at
    /// <c>Jobs:MaxAttempts</c> the job is failed instead of re-queued.
    /// </summary>
    public int Crashes { get; set; }

    /// <summary>The tuning job this job is a trial of; null for a job submitted on its own.</summary>
    public string? TuningJobId { get; set; }

    /// <summary>The trial's number in its tuning job, from 0; unique there, so that a trial is created once.</summary>
    public int? TrialNumber { get; set; }

    /// <summary>The values the search chose for this trial, by field path, as a JSON object.</summary>
    public string? TrialParameters { get; set; }
}

/// <summary>
/// A hyperparameter search. Its trials are training jobs (<see cref="TrainingJobRecord.TuningJobId"/>); what it
/// decides next is read from them, so any process's coordinator can carry it on.
/// </summary>
public sealed class TuningJobRecord : IListedRecord
{
    public required string Id { get; set; }

    public JobState State { get; set; }

    public required string DatasetId { get; set; }

    public required string ModelName { get; set; }

    /// <summary>The <c>TuningJobRequest</c> with its search resolved (space, strategy, limits, metric, seed), as JSON.</summary>
    public required string Request { get; set; }

    public string ClientId { get; set; } = "";

    public DateTime CreatedAt { get; set; }

    public DateTime? FinishedAt { get; set; }

    public DateTime UpdatedAt { get; set; }

    public bool CancelRequested { get; set; }

    /// <summary>The best trial's job, once the search ended with one.</summary>
    public string? BestJobId { get; set; }

    /// <summary>The version of <see cref="ModelName"/> the best trial's model was registered as.</summary>
    public int? ModelVersion { get; set; }

    public string? Error { get; set; }
}

/// <summary>One numbered version of a registered model.</summary>
public sealed class ModelVersionRecord
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public int Version { get; set; }

    /// <summary>The engine's <c>ModelSpec</c>, as JSON.</summary>
    public required string Spec { get; set; }

    /// <summary>The task it was trained for, as JSON.</summary>
    public required string Task { get; set; }

    /// <summary>What turns inputs into the model's inputs and outputs back (scalers, vocabulary, labels), as JSON.</summary>
    public required string Preprocessing { get; set; }

    public string? Metrics { get; set; }

    public long ParameterCount { get; set; }

    /// <summary>The job that trained it; null for imports. Unique: a job registers at most one version.</summary>
    public string? SourceJobId { get; set; }

    /// <summary>The tuning job whose best trial this is; unique: a search registers one version.</summary>
    public string? SourceTuningJobId { get; set; }

    /// <summary>The weights (a PyTorch state_dict file), relative to the models directory; named by the registry.</summary>
    public string WeightsFile { get; set; } = "";

    public string? Device { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// A creating request made with an <c>Idempotency-Key</c>: the digest of what was sent and, once it succeeded, the answer
/// given, so that a retry with the same key gets that answer again instead of creating a second thing. Kept for a day.
/// </summary>
public sealed class IdempotencyKeyRecord
{
    /// <summary>Who sent it (as the queue's per-client limits count): keys are per client.</summary>
    public required string ClientId { get; set; }

    public required string Key { get; set; }

    /// <summary>SHA-256 of the method, path and body (a form's fields and files' contents), in hex.</summary>
    public required string Fingerprint { get; set; }

    /// <summary>The answer's status; null while the first request is still being handled.</summary>
    public int? Status { get; set; }

    public string? ContentType { get; set; }

    public string? Location { get; set; }

    public string? Body { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? CompletedAt { get; set; }
}

/// <summary>A name for one version of a model (<c>champion</c>, <c>staging</c>): <c>name@alias</c> serves that version.</summary>
public sealed class ModelAliasRecord
{
    public required string Name { get; set; }

    public required string Alias { get; set; }

    public int Version { get; set; }

    public DateTime UpdatedAt { get; set; }
}
