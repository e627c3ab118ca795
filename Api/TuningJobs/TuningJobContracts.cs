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

/// <summary>The search's pick so far (search.selection): the best trial, or the defaults kept over it.</summary>
public sealed record BestTrial(
    string JobId,
    int Number,
    IReadOnlyDictionary<string, JsonElement> Parameters,
    double Metric,
    [property: Description("The standard error of its metric over the validation set, when the metric has one.")] double? StandardError,
    [property: Description("Under oneStandardError, when the defaults (trial 0) are kept: the trial that validated best, by no " +
                           "more than its standard error (or without one).")] TrialMetric? KeptOver);

/// <summary>A trial's value of the search's metric and its standard error.</summary>
public sealed record TrialMetric(string JobId, int Number, double Metric, double? StandardError);

/// <summary>A tuning job: its request with the search resolved, its trials, the best so far, and the model it registered.</summary>
public sealed record TuningJobResponse(
    string Id,
    [property: Description("queued, running, succeeded, failed or cancelled.")] JobState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    TuningJobRequest Request,
    IReadOnlyList<TrialSummary> Trials,
    BestTrial? Best,
    [property: Description("The picked trial's model (best), registered as a version of modelName, once succeeded.")] ModelReference? Model,
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
        if (TuningCoordinator.Best(trials, request.Task!.Kind!.Value, request.Search) is { } found)
        {
            var trial = summaries.Single(t => t.JobId == found.Trial.Id);
            best = new BestTrial(trial.JobId, trial.Number, trial.Parameters, found.Value, found.StandardError,
                found.KeptOver is { } over ? new TrialMetric(over.Trial.Id, over.Trial.TrialNumber ?? 0, over.Value, over.StandardError) : null);
        }
        return new TuningJobResponse(
            record.Id, record.State, record.CreatedAt, record.FinishedAt, request, summaries, best,
            record.ModelVersion is { } version ? new ModelReference(record.ModelName, version) : null, record.Error, record.CancelRequested);
    }
}

/// <summary>One server-sent event of a tuning job: its state (<c>state</c>) or a trial that ended (<c>trial</c>).</summary>
public sealed record TuningJobEvent(string Id, JobState State, TrialSummary? Trial, BestTrial? Best, ModelReference? Model, string? Error);
