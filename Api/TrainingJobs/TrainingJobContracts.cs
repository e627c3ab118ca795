using System.ComponentModel;
using System.Text.Json;
using RnnService.Domain.Budgets;
using RnnService.Domain.Jobs;
using RnnService.Training.Jobs;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;

namespace RnnService.Api.TrainingJobs;

/// <summary>The model version a succeeded job registered.</summary>
public sealed record ModelReference(string Name, int Version);

/// <summary>A training job: its request with every default filled in, where it stands, and what it produced.</summary>
public sealed record TrainingJobResponse(
    string Id,
    [property: Description("queued, running, succeeded, failed or cancelled.")] JobState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    TrainingJobRequest Request,
    [property: Description("Where the job stands: the latest epoch's figures and, inside an epoch, its batches done, the throughput and the time left.")] JobProgress? Progress,
    [property: Description("One entry per epoch; attempt says which claim of the job trained it (above 1: resumed).")] IReadOnlyList<EpochEntry> History,
    [property: Description("The best epoch's validation metrics, in the data's own scale, with the naive baseline's beside them.")] IReadOnlyDictionary<string, double>? Metrics,
    [property: Description("The registered version, once succeeded.")] ModelReference? Model,
    [property: Description("Why it failed.")] string? Error,
    [property: Description("Where it trains: cpu or cuda:N.")] string? Device,
    [property: Description("How many times a worker claimed it; above 1 means it was resumed from a checkpoint.")] int Attempts,
    bool CancelRequested,
    [property: Description("What the job needs, estimated when it was submitted: parameters and peak memory, with its parts.")] TrainingEstimate? Estimate,
    [property: Description("Why a succeeded job stopped: epochs (all ran), earlyStopping, timeLimit (training.maxDuration; the best epoch so far was registered), or pruned (its tuning job's early stopping).")] StopReason? StoppedBy,
    [property: Description("The tuning job this job is a trial of.")] string? TuningJobId = null,
    [property: Description("The trial's number in its tuning job, from 0.")] int? Trial = null,
    [property: Description("The values the search chose for this trial, by field path.")] IReadOnlyDictionary<string, JsonElement>? Parameters = null)
{
    public static TrainingJobResponse From(TrainingJobRecord record, bool withHistory = true) => new(
        record.Id, record.State, record.CreatedAt, record.StartedAt, record.FinishedAt,
        StoredJson.Read<TrainingJobRequest>(record.Request),
        record.Progress is null ? null : StoredJson.Read<JobProgress>(record.Progress),
        withHistory ? StoredJson.Read<List<EpochEntry>>(record.History) : [],
        record.Metrics is null ? null : StoredJson.Read<Dictionary<string, double>>(record.Metrics),
        record.ModelVersion is { } version ? new ModelReference(record.ModelName, version) : null,
        record.Error, record.Device, record.Attempts, record.CancelRequested,
        record.Estimate is null ? null : StoredJson.Read<TrainingEstimate>(record.Estimate), record.StoppedBy,
        record.TuningJobId, record.TrialNumber,
        record.TrialParameters is null ? null : StoredJson.Read<Dictionary<string, JsonElement>>(record.TrialParameters));
}

/// <summary>
/// One server-sent event of a job: its state (event <c>state</c>), a finished epoch (event <c>epoch</c>), or its progress inside
/// an epoch (event <c>progress</c>).
/// </summary>
public sealed record TrainingJobEvent(
    string Id, JobState State, JobProgress? Progress, EpochEntry? Epoch, IReadOnlyDictionary<string, double>? Metrics,
    ModelReference? Model, string? Error);
