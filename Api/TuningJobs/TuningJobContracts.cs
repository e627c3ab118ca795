using System.ComponentModel;
using System.Text.Json;
using RnnService.Api.TrainingJobs;
using RnnService.Domain.Jobs;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;
using RnnService.Training.Tuning;

namespace RnnService.Api.TuningJobs;

/// <summary>One trial of a tuning job: a training job with the values the search chose.</summary>
public sealed record TrialSummary(
    [property: Description("The trial's training job (GET /training-jobs/{id}).")] string JobId,
    [property: Description("The trial's number, from 0, in the order the search chose them.")] int Number,
    [property: Description("The values chosen, by field path.")] IReadOnlyDictionary<string, JsonElement> Parameters,
    JobState State,
    [property: Description("Its value of the search's metric: the kept epoch's (for validationLoss the lowest); null until it succeeds.")] double? Metric,
    [property: Description("Epochs trained so far.")] int Epochs,
    [property: Description("The search's early stopping (asha, median) ended it.")] bool StoppedEarly,
    StopReason? StoppedBy,
    string? Error);

/// <summary>The best trial so far.</summary>
public sealed record BestTrial(string JobId, int Number, IReadOnlyDictionary<string, JsonElement> Parameters, double Metric);

/// <summary>A tuning job: its request with the search resolved, its trials, the best so far, and the model it registered.</summary>
public sealed record TuningJobResponse(
    string Id,
    [property: Description("queued, running, succeeded, failed or cancelled.")] JobState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    TuningJobRequest Request,
    IReadOnlyList<TrialSummary> Trials,
    BestTrial? Best,
    [property: Description("The best trial's model, registered as a version of modelName, once succeeded.")] ModelReference? Model,
    string? Error,
    bool CancelRequested)
{
    public static TuningJobResponse From(TuningJobRecord record, IReadOnlyList<TrainingJobRecord> trials)
    {
        var request = StoredJson.Read<TuningJobRequest>(record.Request);
        var metric = request.Search!.Metric!;
        var summaries = trials.OrderBy(t => t.TrialNumber).Select(t => new TrialSummary(
            t.Id, t.TrialNumber ?? 0,
            t.TrialParameters is null ? new Dictionary<string, JsonElement>() : StoredJson.Read<Dictionary<string, JsonElement>>(t.TrialParameters),
            t.State, t.State == JobState.Succeeded ? TuningCoordinator.Value(t, metric) : null,
            StoredJson.Read<List<EpochEntry>>(t.History).Count, t.StoppedBy == StopReason.Pruned, t.StoppedBy, t.Error)).ToList();
        BestTrial? best = null;
        if (TuningCoordinator.Best(trials, metric) is { } found)
        {
            var trial = summaries.Single(t => t.JobId == found.Trial.Id);
            best = new BestTrial(trial.JobId, trial.Number, trial.Parameters, found.Value);
        }
        return new TuningJobResponse(
            record.Id, record.State, record.CreatedAt, record.FinishedAt, request, summaries, best,
            record.ModelVersion is { } version ? new ModelReference(record.ModelName, version) : null, record.Error, record.CancelRequested);
    }
}

/// <summary>One server-sent event of a tuning job: its state (<c>state</c>) or a trial that ended (<c>trial</c>).</summary>
public sealed record TuningJobEvent(string Id, JobState State, TrialSummary? Trial, BestTrial? Best, ModelReference? Model, string? Error);
