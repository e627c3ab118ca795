using Microsoft.EntityFrameworkCore;
using RnnService.Api.Infrastructure;
using RnnService.Api.Security;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Jobs;
using RnnService.Training.Storage;

namespace RnnService.Api.TrainingJobs;

/// <summary>What submitting a training job and a tuning job share: the names, the dataset, and the queue's limits.</summary>
public static class JobSubmission
{
    /// <summary>The most a job or tuning request may be: a request is settings, never data.</summary>
    public const long MaxRequestBytes = 1 << 20;

    /// <summary>A job or tuning request as JSON: strict about its fields, at most <see cref="MaxRequestBytes"/>.</summary>
    public static async Task<(T? Request, Microsoft.AspNetCore.Http.HttpResults.ValidationProblem? Invalid, Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult? Failed)> ReadAsync<T>(
        HttpContext http, CancellationToken cancellationToken) where T : class
    {
        if (RequestBodies.Limit(http.Request, MaxRequestBytes, $"a request may be at most {MaxRequestBytes} bytes") is { } tooLarge) return (null, null, tooLarge);
        if (!http.Request.HasJsonContentType()) return (null, null, Problems.UnsupportedMediaType("send the request as application/json."));
        return await RequestBodies.ReadJsonAsync<T>(http.Request, MaxRequestBytes, cancellationToken);
    }

    /// <summary>A dataset reference and a model name that can be stored: present, printable, and a name clients may use.</summary>
    public static List<ValidationError> CheckNames(string? datasetId, string? modelName)
    {
        var errors = new List<ValidationError>();
        if (string.IsNullOrWhiteSpace(datasetId)) errors.Add(new("datasetId", "is required."));
        // Control characters (NUL above all: PostgreSQL refuses it in text) are in no id or name.
        else if (datasetId.Any(char.IsControl)) errors.Add(new("datasetId", "must not contain control characters."));
        if (string.IsNullOrWhiteSpace(modelName)) errors.Add(new("modelName", "is required."));
        else if (!ModelNames.IsValid(modelName)) errors.Add(new("modelName", $"'{modelName}' {ModelNames.Rule}."));
        else if (ModelNames.IsReserved(modelName)) errors.Add(new("modelName", $"'{modelName}' {ModelNames.ReservedRule}."));
        return errors;
    }

    /// <summary>The dataset with that id, or else the newest with that name; null when there is none.</summary>
    public static async Task<DatasetRecord?> FindDatasetAsync(RnnDbContext context, string idOrName, CancellationToken cancellationToken) =>
        await context.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == idOrName, cancellationToken)
        ?? await context.Datasets.AsNoTracking().Where(d => d.Name == idOrName)
            .OrderByDescending(d => d.CreatedAt).FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// Throws <see cref="ServiceBusyException"/> (503, or 429 for the client's share) when <paramref name="adding"/> more
    /// waiting jobs would pass <c>Jobs:MaxQueued</c>, or the client's <c>Jobs:MaxQueuedPerClient</c>. A search counts as the
    /// places it holds until it ends or is cancelled (<see cref="Places"/>: its trials queued or running never pass them, and
    /// its coordinator queues them without asking), and its trials not again; a new search adds its <c>maxParallel</c>. Checked after
    /// validation, so that a request that cannot train says so even when the queue is full. Submissions at the same
    /// moment may each see room: the bound can be passed by the number of them, never grown without bound.
    /// </summary>
    public static async Task CheckQueueAsync(
        RnnDbContext context, HttpContext http, JobsOptions limits, CancellationToken cancellationToken, int adding = 1)
    {
        var client = ClientIdentity.Of(http);
        var open = await context.TuningJobs.AsNoTracking()
            .Where(t => (t.State == JobState.Queued || t.State == JobState.Running) && !t.CancelRequested)
            .Select(t => new { t.Id, t.ClientId, t.Request }).ToListAsync(cancellationToken);
        var ids = open.Select(t => t.Id).ToList();
        var ended = ids.Count == 0
            ? []
            : await context.TrainingJobs.AsNoTracking()
                .Where(j => j.TuningJobId != null && ids.Contains(j.TuningJobId)
                    && (j.State == JobState.Succeeded || j.State == JobState.Failed || j.State == JobState.Cancelled))
                .GroupBy(j => j.TuningJobId!).Select(g => new { Id = g.Key, Count = g.Count() })
                .ToDictionaryAsync(g => g.Id, g => g.Count, cancellationToken);
        var searches = open.Select(t => (t.ClientId, Places: Places(StoredJson.Read<TuningJobRequest>(t.Request).Search, ended.GetValueOrDefault(t.Id))))
            .ToList();
        var held = searches.Sum(s => s.Places);
        var waiting = await context.TrainingJobs.CountAsync(j => j.State == JobState.Queued && j.TuningJobId == null, cancellationToken) + held;
        if (waiting + adding > limits.MaxQueued)
            throw new ServiceBusyException(
                adding == 1 && held == 0
                    ? $"The job queue is full ({limits.MaxQueued} jobs waiting); nothing was stored, retry later."
                    : $"The job queue has {waiting} jobs waiting or held by tuning jobs; {Adding(adding)} would pass Jobs:MaxQueued " +
                      $"({limits.MaxQueued}); nothing was stored, retry later.",
                limits.RetryAfterSeconds);
        if (limits.MaxQueuedPerClient <= 0) return;
        var clientHeld = searches.Where(s => s.ClientId == client).Sum(s => s.Places);
        var clientWaiting = clientHeld
            + await context.TrainingJobs.CountAsync(j => j.ClientId == client && j.State == JobState.Queued && j.TuningJobId == null, cancellationToken);
        if (clientWaiting + adding > limits.MaxQueuedPerClient)
        {
            var who = ClientIdentity.Describe(http);
            who = char.ToUpperInvariant(who[0]) + who[1..];
            throw new ServiceBusyException(
                adding == 1 && clientWaiting == limits.MaxQueuedPerClient && clientHeld == 0
                    ? $"{who} has {limits.MaxQueuedPerClient} jobs waiting, as many as one client may (Jobs:MaxQueuedPerClient); nothing " +
                      "was stored. Retry when one has started, or cancel one."
                    : $"{who} has {clientWaiting} jobs waiting{(clientHeld > 0 ? $" ({clientHeld} of them places its tuning jobs hold)" : "")}; " +
                      $"{Adding(adding)} would pass the {limits.MaxQueuedPerClient} one client may (Jobs:MaxQueuedPerClient); nothing was " +
                      "stored. Retry when fewer are waiting, or cancel one.",
                limits.RetryAfterSeconds, StatusCodes.Status429TooManyRequests, "client_share");
        }
    }

    /// <summary>
    /// The places a search holds: <c>maxParallel</c>, or fewer once fewer of its trials are left to end (queued, running,
    /// or not created yet), so that its last trials do not keep the client's share while they could never use it.
    /// </summary>
    public static int Places(SearchOptions? search, int endedTrials) =>
        search is { MaxParallel: { } parallel, MaxTrials: { } trials } ? Math.Clamp(trials - endedTrials, 0, parallel) : 0;

    private static string Adding(int adding) => adding == 1 ? "one more" : $"a search holding {adding} places (search.maxParallel)";
}
