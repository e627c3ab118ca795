using System.ComponentModel;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RnnService.Api.Infrastructure;
using RnnService.Api.Security;
using RnnService.Api.TrainingJobs;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Jobs;
using RnnService.Training.Storage;
using RnnService.Training.Torch;
using RnnService.Training.Tuning;

namespace RnnService.Api.TuningJobs;

public static class TuningJobsApi
{
    public static RouteGroupBuilder MapTuningJobsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/tuning-jobs").WithTags("Tuning jobs").RequireScope(Scopes.Train);
        group.MapPost("/", CreateTuningJobAsync)
            .Idempotent()
            .Accepts<TuningJobRequest>("application/json")
            .WithName("CreateTuningJob")
            .WithSummary("Queue a hyperparameter search")
            .WithDescription(
                "Searches `search.space` (or the task kind's default space) with `maxTrials` trials, at most `maxParallel` at once. " +
                "Each trial is an ordinary training job (listed in /training-jobs with `tuningJobId`), shared by every worker; its " +
                "model trains as a version of the model named by the tuning job's id. The shared request must train as it stands, " +
                "and with each value the space can give each field (every choice, both bounds), within the job budgets: otherwise " +
                "a 400 naming the field. Once every trial has ended, the pick (`best`) is registered as the next version of " +
                "`modelName`, with the tuning job as its source: by default (`search.selection` oneStandardError) the defaults, " +
                "trial 0, unless the best by `metric` beats them by more than one standard error of its value; with `best`, " +
                "the best by `metric`. Until it ends or is cancelled a search holds `search.maxParallel` places in the job queue (fewer " +
                "once fewer of its trials are left to end), " +
                "its client's share (`Jobs:MaxQueuedPerClient`, 429) and the whole (`Jobs:MaxQueued`, 503) included; more " +
                "places than the share has are a 400 naming `search.maxParallel`.");
        group.MapGet("/", ListTuningJobsAsync).WithName("ListTuningJobs").WithSummary("List tuning jobs, newest first, a page at a time");
        group.MapGet("/{id}", GetTuningJobAsync).WithName("GetTuningJob").WithSummary("A tuning job with its trials and the best so far");
        group.MapPost("/{id}/cancel", CancelTuningJobAsync)
            .WithName("CancelTuningJob")
            .WithSummary("Cancel a tuning job and its trials")
            .WithDescription("Its queued trials are cancelled at once, its running ones before their next batch; nothing more is queued or registered.");
        group.MapGet("/{id}/events", StreamTuningJobEventsAsync)
            .WithName("StreamTuningJobEvents")
            .WithSummary("Follow a tuning job as server-sent events")
            .WithDescription("text/event-stream: a `state` event now and at every state change, a `trial` event as each trial ends (with the best so far); the stream ends with the final state.");
        return group;
    }

    public static async Task<Results<Accepted<TuningJobResponse>, ValidationProblem, ProblemHttpResult, IdempotentAnswer>> CreateTuningJobAsync(
        HttpContext http, IdempotencyKeys keys, IDbContextFactory<RnnDbContext> contexts, JobSignals signals, EngineInfo engine,
        ServiceRoles roles, IOptions<JobsOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var (parsed, invalid, failed) = await JobSubmission.ReadAsync<TuningJobRequest>(http, cancellationToken);
        if (invalid is not null) return invalid;
        if (failed is not null) return failed;
        var request = parsed!;
        if (await keys.BeginAsync(http, cancellationToken) is { } answer) return answer;

        var errors = JobSubmission.CheckNames(request.DatasetId, request.ModelName);
        if (errors.Count > 0) return Problems.Validation(errors);

        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var dataset = await JobSubmission.FindDatasetAsync(context, request.DatasetId!, cancellationToken);
        if (dataset is null) return Problems.Validation("datasetId", $"there is no dataset with the id or name '{request.DatasetId}'.");
        var (resolved, problems) = TuningRequestResolver.Resolve(
            request with { DatasetId = dataset.Id }, StoredJson.Read<DatasetSummary>(dataset.Summary), !roles.Worker || engine.CudaAvailable,
            options.Value.Limits, dataset.SizeBytes);
        if (resolved is null) return Problems.Validation(problems);

        // Its trials join the same queue as jobs, and the search holds up to maxParallel places there until it ends: a queue, or a
        // client's share of it, without room for them takes no search. A search that could never fit is a 400.
        var places = resolved.Search!.MaxParallel!.Value;
        var limits = options.Value;
        var room = limits.MaxQueuedPerClient > 0 ? Math.Min(limits.MaxQueued, limits.MaxQueuedPerClient) : limits.MaxQueued;
        if (places > room)
            return Problems.Validation("search.maxParallel",
                $"{places} trials at once would hold more places in the job queue than {(room == limits.MaxQueued ? "it has (Jobs:MaxQueued" : "one client may (Jobs:MaxQueuedPerClient")}, {room}); at most {room}.");
        await JobSubmission.CheckQueueAsync(context, http, limits, cancellationToken, adding: places);
        var client = ClientIdentity.Of(http);

        var now = StoredTime.Now(time);
        var record = new TuningJobRecord
        {
            Id = Ids.New("tune"), State = JobState.Queued, DatasetId = dataset.Id, ModelName = request.ModelName!,
            Request = StoredJson.Write(resolved), ClientId = client, CreatedAt = now, UpdatedAt = now,
        };
        context.TuningJobs.Add(record);
        await context.SaveChangesAsync(cancellationToken);
        signals.TuningChanged();
        return TypedResults.Accepted($"/tuning-jobs/{record.Id}", TuningJobResponse.From(record, []));
    }

    public static async Task<Results<Ok<Page<TuningJobResponse>>, ValidationProblem>> ListTuningJobsAsync(
        IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken,
        [Description(Pagination.LimitDescription)] int limit = Pagination.DefaultLimit,
        [Description(Pagination.CursorDescription)] string? cursor = null)
    {
        var errors = Pagination.Check(limit, cursor, out var after);
        if (errors.Count > 0) return Problems.Validation(errors);
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var page = await Pagination.PageAsync(context.TuningJobs.AsNoTracking(), limit, after, cancellationToken);
        var ids = page.Items.Select(r => r.Id).ToList();
        var trials = (await context.TrainingJobs.AsNoTracking().Where(j => j.TuningJobId != null && ids.Contains(j.TuningJobId)).ToListAsync(cancellationToken))
            .ToLookup(j => j.TuningJobId!);
        return TypedResults.Ok(page.Select(r => TuningJobResponse.From(r, trials[r.Id].ToList())));
    }

    public static async Task<Results<Ok<TuningJobResponse>, ProblemHttpResult>> GetTuningJobAsync(
        string id, IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken)
    {
        var found = await FindAsync(contexts, id, cancellationToken);
        return found is { } pair ? TypedResults.Ok(TuningJobResponse.From(pair.Record, pair.Trials)) : Problems.NotFound($"there is no tuning job '{id}'.");
    }

    public static async Task<Results<Accepted<TuningJobResponse>, ProblemHttpResult>> CancelTuningJobAsync(
        string id, IDbContextFactory<RnnDbContext> contexts, JobQueue queue, JobSignals signals, TimeProvider time, CancellationToken cancellationToken)
    {
        await using (var context = await contexts.CreateDbContextAsync(cancellationToken))
        {
            var record = await context.TuningJobs.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
            if (record is null) return Problems.NotFound($"there is no tuning job '{id}'.");
            if (record.State is JobState.Succeeded or JobState.Failed)
                return Problems.Conflict($"the tuning job already ended: {record.State.ToString().ToLowerInvariant()}.");
            var now = StoredTime.Now(time);
            await context.TuningJobs.Where(t => t.Id == id && (t.State == JobState.Queued || t.State == JobState.Running))
                .ExecuteUpdateAsync(set => set.SetProperty(t => t.CancelRequested, true).SetProperty(t => t.UpdatedAt, now), cancellationToken);
            // The trials now, rather than at a coordinator's next pass; a trial queued meanwhile is the coordinator's to cancel.
            foreach (var trial in await queue.CancelTrialsAsync(id, cancellationToken)) signals.Cancel(trial);
        }
        signals.TuningChanged();
        var found = await FindAsync(contexts, id, cancellationToken);
        return TypedResults.Accepted($"/tuning-jobs/{id}", TuningJobResponse.From(found!.Value.Record, found.Value.Trials));
    }

    public static async Task<Results<ServerSentEventsResult<TuningJobEvent>, ProblemHttpResult>> StreamTuningJobEventsAsync(
        string id, IDbContextFactory<RnnDbContext> contexts, CancellationToken cancellationToken)
    {
        var found = await FindAsync(contexts, id, cancellationToken);
        if (found is null) return Problems.NotFound($"there is no tuning job '{id}'.");
        return TypedResults.ServerSentEvents(FollowAsync(id, found.Value, contexts, cancellationToken));
    }

    /// <summary>Polls the store (trials train in any process) and reports each trial that ended and each change of state.</summary>
    private static async IAsyncEnumerable<SseItem<TuningJobEvent>> FollowAsync(
        string id, (TuningJobRecord Record, List<TrainingJobRecord> Trials) current, IDbContextFactory<RnnDbContext> contexts,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        JobState? state = null;
        var reported = new HashSet<string>();
        while (true)
        {
            var response = TuningJobResponse.From(current.Record, current.Trials);
            foreach (var trial in response.Trials.Where(t => t.State.IsFinal() && reported.Add(t.JobId)))
                yield return new SseItem<TuningJobEvent>(new(id, response.State, trial, response.Best, null, null), "trial");
            if (response.State != state)
            {
                state = response.State;
                yield return new SseItem<TuningJobEvent>(new(id, response.State, null, response.Best, response.Model, response.Error), "state");
            }
            if (response.State.IsFinal()) yield break;
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            current = await FindAsync(contexts, id, cancellationToken) ?? current;
        }
    }

    private static async Task<(TuningJobRecord Record, List<TrainingJobRecord> Trials)?> FindAsync(
        IDbContextFactory<RnnDbContext> contexts, string id, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var record = await context.TuningJobs.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (record is null) return null;
        var trials = await context.TrainingJobs.AsNoTracking().Where(j => j.TuningJobId == id).ToListAsync(cancellationToken);
        return (record, trials);
    }
}
