using System.ComponentModel;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RnnService.Api.Infrastructure;
using RnnService.Api.Security;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Jobs;
using RnnService.Training.Tasks;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;
using RnnService.Training.Torch;

namespace RnnService.Api.TrainingJobs;

public static class TrainingJobsApi
{
    public static RouteGroupBuilder MapTrainingJobsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/training-jobs").WithTags("Training jobs").RequireScope(Scopes.Train);

        group.MapPost("/", CreateTrainingJobAsync)
            .Idempotent()
            .Accepts<TrainingJobRequest>("application/json")
            .WithName("CreateTrainingJob")
            .WithSummary("Queue a training job")
            .WithDescription(
                "Checks the request against its dataset (columns exist, inputLength + horizon fits the shortest series, labels " +
                "fit the task) and fills in every default before queuing: a request that cannot train is a 400 naming the field. " +
                "The job's parameters and peak memory are estimated (`estimate`) and must fit Jobs:MaxParameters and " +
                "Jobs:MaxTrainingMemoryMiB, its training.maxDuration Jobs:MaxJobDuration; a client with Jobs:MaxQueuedPerClient " +
                "jobs waiting gets 429 with Retry-After. " +
                "A worker claims the job, trains it with a checkpoint after every epoch, and registers the best epoch's " +
                "weights as the next version of modelName. A field the request does not have is a 400 naming it. With an " +
                "`Idempotency-Key`, a repeat of the same request gets the first answer and queues nothing.");
        group.MapGet("/", ListTrainingJobsAsync).WithName("ListTrainingJobs").WithSummary("List jobs, newest first, a page at a time");
        group.MapGet("/{id}", GetTrainingJobAsync).WithName("GetTrainingJob").WithSummary("A job with its progress, history and metrics");
        group.MapPost("/{id}/cancel", CancelTrainingJobAsync)
            .WithName("CancelTrainingJob")
            .WithSummary("Cancel a job")
            .WithDescription("A queued job is cancelled at once; a running one stops before its next batch. Its checkpoint is kept.");
        group.MapGet("/{id}/events", StreamTrainingJobEventsAsync)
            .WithName("StreamTrainingJobEvents")
            .WithSummary("Follow a job as server-sent events")
            .WithDescription("text/event-stream: a `state` event now and at every state change, an `epoch` event per finished epoch, `progress` events inside an epoch (batches done, sequences a second, time left; a few a second at most); the stream ends with the final state.");
        return group;
    }

    public static async Task<Results<Accepted<TrainingJobResponse>, ValidationProblem, ProblemHttpResult, IdempotentAnswer>> CreateTrainingJobAsync(
        HttpContext http, IdempotencyKeys keys, IDbContextFactory<RnnDbContext> contexts, JobQueue queue, JobSignals signals,
        EngineInfo engine, ServiceRoles roles, IOptions<JobsOptions> options, CancellationToken cancellationToken)
    {
        var (parsed, invalid, failed) = await JobSubmission.ReadAsync<TrainingJobRequest>(http, cancellationToken);
        if (invalid is not null) return invalid;
        if (failed is not null) return failed;
        var request = parsed!;
        if (await keys.BeginAsync(http, cancellationToken) is { } answer) return answer;

        var limits = options.Value;
        var errors = JobSubmission.CheckNames(request.DatasetId, request.ModelName);
        if (errors.Count > 0) return Problems.Validation(errors);

        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var dataset = await JobSubmission.FindDatasetAsync(context, request.DatasetId!, cancellationToken);
        if (dataset is null) return Problems.Validation("datasetId", $"there is no dataset with the id or name '{request.DatasetId}'.");
        // A process that trains its own jobs refuses cuda without a GPU. An api-only process cannot know the workers' devices
        // (GPU workers run apart from CPU API replicas), so it queues the job; a worker without CUDA fails it by name.
        var cudaPossible = !roles.Worker || engine.CudaAvailable;
        var resolution = TrainingRequestResolver.Resolve(
            request with { DatasetId = dataset.Id }, StoredJson.Read<DatasetSummary>(dataset.Summary), cudaPossible, limits.Limits, dataset.SizeBytes);
        if (resolution.Request is not { } resolved) return Problems.Validation(resolution.Errors);

        await JobSubmission.CheckQueueAsync(context, http, limits, cancellationToken);
        var client = ClientIdentity.Of(http);

        var job = new TrainingJobRecord
        {
            Id = Ids.New("job"), DatasetId = dataset.Id, ModelName = request.ModelName!, Request = StoredJson.Write(resolved),
            ClientId = client, Estimate = StoredJson.Write(resolution.Estimate),
        };
        await queue.EnqueueAsync(job, cancellationToken);
        signals.JobQueued();
        return TypedResults.Accepted($"/training-jobs/{job.Id}", TrainingJobResponse.From(job));
    }

    public static async Task<Results<Ok<Page<TrainingJobResponse>>, ValidationProblem>> ListTrainingJobsAsync(
        IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken,
        [Description("Only jobs in this state: queued, running, succeeded, failed or cancelled.")] string? state = null,
        [Description("Only the trials of this tuning job.")] string? tuningJobId = null,
        [Description(Pagination.LimitDescription)] int limit = Pagination.DefaultLimit,
        [Description(Pagination.CursorDescription)] string? cursor = null)
    {
        var errors = Pagination.Check(limit, cursor, out var after);
        JobState? wanted = null;
        if (state is not null)
        {
            if (!Enum.TryParse<JobState>(state, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(state, out _))
                errors.Add(new("state", $"'{state}' is not queued, running, succeeded, failed or cancelled."));
            else wanted = parsed;
        }
        if (errors.Count > 0) return Problems.Validation(errors);
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var query = context.TrainingJobs.AsNoTracking().Where(job => job.Kind == JobKind.Training);
        if (wanted is not null) query = query.Where(job => job.State == wanted);
        if (tuningJobId is not null) query = query.Where(job => job.TuningJobId == tuningJobId);
        return TypedResults.Ok((await Pagination.PageAsync(query, limit, after, cancellationToken)).Select(job => TrainingJobResponse.From(job, withHistory: false)));
    }

    public static async Task<Results<Ok<TrainingJobResponse>, ProblemHttpResult>> GetTrainingJobAsync(
        string id, JobQueue queue, CancellationToken cancellationToken)
    {
        var job = await queue.FindAsync(id, JobKind.Training, cancellationToken);
        return job is null ? Problems.NotFound($"there is no training job '{id}'.") : TypedResults.Ok(TrainingJobResponse.From(job));
    }

    public static async Task<Results<Accepted<TrainingJobResponse>, ProblemHttpResult>> CancelTrainingJobAsync(
        string id, JobQueue queue, JobSignals signals, CancellationToken cancellationToken)
    {
        var job = await queue.CancelAsync(id, JobKind.Training, cancellationToken);
        if (job is null) return Problems.NotFound($"there is no training job '{id}'.");
        if (job.State is JobState.Succeeded or JobState.Failed)
            return Problems.Conflict($"the job already ended: {job.State.ToString().ToLowerInvariant()}.");
        signals.Cancel(id);
        return TypedResults.Accepted($"/training-jobs/{id}", TrainingJobResponse.From(job));
    }

    public static async Task<Results<ServerSentEventsResult<TrainingJobEvent>, ProblemHttpResult>> StreamTrainingJobEventsAsync(
        string id, JobQueue queue, CancellationToken cancellationToken)
    {
        var job = await queue.FindAsync(id, JobKind.Training, cancellationToken);
        if (job is null) return Problems.NotFound($"there is no training job '{id}'.");
        return TypedResults.ServerSentEvents(FollowAsync(job, queue, cancellationToken));
    }

    /// <summary>Polls the job store (the job may train in another process) and reports what changed, until the job ends.</summary>
    private static async IAsyncEnumerable<SseItem<TrainingJobEvent>> FollowAsync(
        TrainingJobRecord job, JobQueue queue, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        JobState? state = null;
        var epochsSent = 0;
        DateTime? seen = null;
        string? progressSent = null, historyRead = null;
        var history = new List<EpochEntry>();
        while (true)
        {
            // Every change to a job moves its UpdatedAt: an unchanged record has nothing new to send.
            if (job.UpdatedAt != seen)
            {
                seen = job.UpdatedAt;
                // Progress inside an epoch moves UpdatedAt a few times a second; the history changes once an epoch.
                if (job.History != historyRead) (history, historyRead) = (StoredJson.Read<List<EpochEntry>>(job.History), job.History);
                var response = TrainingJobResponse.From(job, withHistory: false);
                // After a resume the history may restart below what was sent; only epochs not yet sent go out.
                var sent = false;
                foreach (var entry in history.Where(entry => entry.Epoch > epochsSent))
                {
                    yield return new SseItem<TrainingJobEvent>(
                        new(job.Id, job.State, response.Progress, entry, null, null, null), "epoch");
                    epochsSent = entry.Epoch;
                    sent = true;
                }
                if (job.State != state)
                {
                    state = job.State;
                    sent = true;
                    yield return new SseItem<TrainingJobEvent>(
                        new(job.Id, job.State, response.Progress, null, response.Metrics, response.Model, job.Error), "state");
                }
                // Inside an epoch: batches done, throughput and time left, as often as the worker writes them.
                if (!sent && job.State == JobState.Running && job.Progress is not null && job.Progress != progressSent)
                    yield return new SseItem<TrainingJobEvent>(new(job.Id, job.State, response.Progress, null, null, null, null), "progress");
                progressSent = job.Progress;
                if (job.State.IsFinal()) yield break;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            job = await queue.FindAsync(job.Id, JobKind.Training, cancellationToken) ?? job;
        }
    }
}
