using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RnnService.Api.Infrastructure;
using RnnService.Api.Security;
using RnnService.Api.TrainingJobs;
using RnnService.Domain.Budgets;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Jobs;
using RnnService.Training.Predictions;
using RnnService.Training.Registry;
using RnnService.Training.Storage;
using RnnService.Training.Tasks;
using RnnService.Training.Tasks.Forecast;

namespace RnnService.Api.PredictionJobs;

/// <summary>A prediction job as the API shows it.</summary>
public sealed record PredictionJobResponse(
    string Id,
    [property: Description("queued, running, succeeded, failed or cancelled.")] JobState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    [property: Description("The request, with the model resolved to name:version and the dataset to its id.")] PredictionJobRequest Request,
    [property: Description("Series or examples done, of how many, and rows written so far.")] PredictionProgress? Progress,
    [property: Description("Where the results are, once succeeded: CSV for forecasts (series, step, time, target, forecast, one column per quantile), JSON lines otherwise.")] string? Results,
    [property: Description("Items (series or examples) and rows written, once succeeded.")] IReadOnlyDictionary<string, double>? Counts,
    [property: Description("Why it failed.")] string? Error,
    [property: Description("How many times a worker claimed it; above 1 means it was resumed.")] int Attempts,
    bool CancelRequested)
{
    public static PredictionJobResponse From(TrainingJobRecord record) => new(
        record.Id, record.State, record.CreatedAt, record.StartedAt, record.FinishedAt,
        StoredJson.Read<PredictionJobRequest>(record.Request),
        record.Progress is null ? null : StoredJson.Read<PredictionProgress>(record.Progress),
        record.State == JobState.Succeeded ? $"/prediction-jobs/{record.Id}/results" : null,
        record.Metrics is null ? null : StoredJson.Read<Dictionary<string, double>>(record.Metrics),
        record.Error, record.Attempts, record.CancelRequested);
}

public static class PredictionJobsApi
{
    public static RouteGroupBuilder MapPredictionJobsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/prediction-jobs").WithTags("Prediction jobs").RequireScope(Scopes.Predict);
        group.MapPost("/", CreatePredictionJobAsync)
            .Idempotent()
            .Accepts<PredictionJobRequest>("application/json")
            .WithName("CreatePredictionJob")
            .WithSummary("Queue predictions over a stored dataset")
            .WithDescription(
                "Runs on the workers like a training job (the same queue, leases, resumption and limits). A forecast model " +
                "forecasts `horizon` steps after the end of each series of a time-series dataset (all, or those named in " +
                "`series`), reading each series' last window as /predict would; other models answer every sequence or text of " +
                "the dataset. The model is resolved to its version when the job is queued. Results: GET /prediction-jobs/{id}/results.");
        group.MapGet("/", ListPredictionJobsAsync).WithName("ListPredictionJobs").WithSummary("List prediction jobs, newest first, a page at a time");
        group.MapGet("/{id}", GetPredictionJobAsync).WithName("GetPredictionJob").WithSummary("A prediction job with its progress");
        group.MapPost("/{id}/cancel", CancelPredictionJobAsync).WithName("CancelPredictionJob").WithSummary("Cancel a prediction job");
        group.MapGet("/{id}/results", GetPredictionResultsAsync)
            .WithName("GetPredictionJobResults")
            .WithSummary("A succeeded prediction job's results")
            .WithDescription("text/csv for forecasts: series, step, time (when the series has times), target, forecast and a column per quantile (`q0.1`); application/x-ndjson otherwise: one line per example with its index and /predict's output. Range requests are served.")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv");
        return group;
    }

    public static async Task<Results<Accepted<PredictionJobResponse>, ValidationProblem, ProblemHttpResult, IdempotentAnswer>> CreatePredictionJobAsync(
        HttpContext http, IdempotencyKeys keys, IDbContextFactory<RnnDbContext> contexts, ModelRegistry registry, JobQueue queue,
        JobSignals signals, IOptions<JobsOptions> options, CancellationToken cancellationToken)
    {
        var (parsed, invalid, failed) = await JobSubmission.ReadAsync<PredictionJobRequest>(http, cancellationToken);
        if (invalid is not null) return invalid;
        if (failed is not null) return failed;
        if (await keys.BeginAsync(http, cancellationToken) is { } answer) return answer;
        var request = parsed!;

        var errors = new List<ValidationError>();
        var selector = ModelSelector.Parse(request.Model, out var problem);
        if (problem is not null) errors.Add(new("model", problem));
        if (string.IsNullOrWhiteSpace(request.DatasetId)) errors.Add(new("datasetId", "is required."));
        else if (request.DatasetId.Any(char.IsControl)) errors.Add(new("datasetId", "must not contain control characters."));
        if (request.Series is { } named && named.Any(string.IsNullOrEmpty)) errors.Add(new("series", "holds an empty name."));
        if (errors.Count > 0) return Problems.Validation(errors);

        var model = await registry.FindAsync(selector!.Value, cancellationToken);
        if (model is null) return Problems.Validation("model", $"there is no model {selector}.");
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var dataset = await JobSubmission.FindDatasetAsync(context, request.DatasetId!, cancellationToken);
        if (dataset is null) return Problems.Validation("datasetId", $"there is no dataset with the id or name '{request.DatasetId}'.");
        var summary = StoredJson.Read<DatasetSummary>(dataset.Summary);
        errors.AddRange(Check(request, model, summary, dataset.SizeBytes, options.Value.Limits));
        if (errors.Count > 0) return Problems.Validation(errors);

        await JobSubmission.CheckQueueAsync(context, http, options.Value, cancellationToken);
        var job = new TrainingJobRecord
        {
            Id = Ids.New("pred"), Kind = JobKind.Prediction, DatasetId = dataset.Id, ModelName = model.Name,
            Request = StoredJson.Write(request with { Model = $"{model.Name}:{model.Version}", DatasetId = dataset.Id }),
            ClientId = ClientIdentity.Of(http),
        };
        await queue.EnqueueAsync(job, cancellationToken);
        signals.JobQueued();
        return TypedResults.Accepted($"/prediction-jobs/{job.Id}", PredictionJobResponse.From(job));
    }

    /// <summary>What the model and the dataset must agree on, known before the job is queued.</summary>
    private static List<ValidationError> Check(PredictionJobRequest request, ModelVersionRecord model, DatasetSummary dataset, long fileBytes, JobLimits limits)
    {
        var errors = new List<ValidationError>();
        var task = StoredJson.Read<TaskOptions>(model.Task);
        var spec = StoredJson.Read<ModelSpec>(model.Spec);
        var served = TaskKinds.For(task.Kind!.Value).Serve(spec, task, model.Preprocessing);
        var reference = $"{model.Name}:{model.Version}";
        // Budgeted before it is queued, as a training job is: the dataset parsed, the weights, one chunk's forward pass.
        var steps = served is ForecastServing { Preprocessing: var window } ? window.InputLength + (window.ReadsFuture ? window.Horizon : 0) : dataset.MaxLength;
        var peak = PredictionBudget.PeakBytes(spec, dataset, fileBytes, steps, PredictionRun.ChunkSize);
        if (peak > limits.MaxTrainingMemoryBytes)
            errors.Add(new("datasetId", $"the job would need about {Sizes.Bytes(peak)} to read this dataset and run {reference} over it; " +
                                        $"at most {Sizes.Bytes(limits.MaxTrainingMemoryBytes)} is allowed (Jobs:MaxTrainingMemoryMiB). Split the dataset."));
        if (served is ForecastServing forecast)
        {
            var preprocessing = forecast.Preprocessing;
            if (dataset.Kind != DatasetKind.TimeSeries)
                errors.Add(new("datasetId", $"{reference} forecasts time series; this dataset holds {dataset.Kind.ToString().ToLowerInvariant()}."));
            else if (preprocessing.Features.Except(dataset.Columns ?? []).ToList() is { Count: > 0 } missing)
                errors.Add(new("datasetId", $"{reference} reads the columns {string.Join(", ", preprocessing.Features)}; the dataset has no {string.Join(", ", missing)}."));
            if (preprocessing.KnownCount > 0)
                errors.Add(new("model", $"{reference} reads the known future of {string.Join(", ", preprocessing.KnownFeatures!)}, which a stored dataset does not hold; forecast it through /predict with future."));
            if (request.Horizon is { } horizon && (horizon < 1 || horizon > preprocessing.Horizon))
                errors.Add(new("horizon", $"must be between 1 and {preprocessing.Horizon} (the trained horizon), got {horizon}."));
        }
        else
        {
            var kind = task.Kind!.Value.ToString().ToLowerInvariant();
            if (dataset.Kind is not (DatasetKind.Sequences or DatasetKind.Texts))
                errors.Add(new("datasetId", $"{reference} ({kind}) reads sequences or texts; this dataset holds {dataset.Kind.ToString().ToLowerInvariant()}."));
            if (request.Series is not null) errors.Add(new("series", $"applies to forecasts; {reference} does {kind}."));
            if (request.Horizon is not null) errors.Add(new("horizon", $"applies to forecasts; {reference} does {kind}."));
        }
        return errors;
    }

    public static async Task<Results<Ok<Page<PredictionJobResponse>>, ValidationProblem>> ListPredictionJobsAsync(
        IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken,
        [Description(Pagination.LimitDescription)] int limit = Pagination.DefaultLimit,
        [Description(Pagination.CursorDescription)] string? cursor = null)
    {
        var errors = Pagination.Check(limit, cursor, out var after);
        if (errors.Count > 0) return Problems.Validation(errors);
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var query = context.TrainingJobs.AsNoTracking().Where(job => job.Kind == JobKind.Prediction);
        return TypedResults.Ok((await Pagination.PageAsync(query, limit, after, cancellationToken)).Select(PredictionJobResponse.From));
    }

    public static async Task<Results<Ok<PredictionJobResponse>, ProblemHttpResult>> GetPredictionJobAsync(
        string id, JobQueue queue, CancellationToken cancellationToken)
    {
        var job = await queue.FindAsync(id, JobKind.Prediction, cancellationToken);
        return job is null ? Problems.NotFound($"there is no prediction job '{id}'.") : TypedResults.Ok(PredictionJobResponse.From(job));
    }

    public static async Task<Results<Accepted<PredictionJobResponse>, ProblemHttpResult>> CancelPredictionJobAsync(
        string id, JobQueue queue, JobSignals signals, CancellationToken cancellationToken)
    {
        var job = await queue.CancelAsync(id, JobKind.Prediction, cancellationToken);
        if (job is null) return Problems.NotFound($"there is no prediction job '{id}'.");
        if (job.State is JobState.Succeeded or JobState.Failed)
            return Problems.Conflict($"the job already ended: {job.State.ToString().ToLowerInvariant()}.");
        signals.Cancel(id);
        return TypedResults.Accepted($"/prediction-jobs/{id}", PredictionJobResponse.From(job));
    }

    public static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> GetPredictionResultsAsync(
        string id, JobQueue queue, FileStore files, CancellationToken cancellationToken)
    {
        var job = await queue.FindAsync(id, JobKind.Prediction, cancellationToken);
        if (job is null) return Problems.NotFound($"there is no prediction job '{id}'.");
        if (job.State != JobState.Succeeded)
            return Problems.Conflict($"the job is {job.State.ToString().ToLowerInvariant()}; its results are ready once it has succeeded.");
        foreach (var forecast in new[] { true, false })
        {
            var path = files.PredictionPath(PredictionRun.ResultsFileName(id, forecast));
            if (File.Exists(path))
                return TypedResults.PhysicalFile(path, forecast ? "text/csv" : "application/x-ndjson", Path.GetFileName(path), enableRangeProcessing: true);
        }
        return Problems.NotFound($"the results of '{id}' are gone from the data directory.");
    }
}
