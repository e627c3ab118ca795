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
    /// Throws <see cref="ServiceBusyException"/> (503, or 429 for the client's share) when the queue holds
    /// <c>Jobs:MaxQueued</c> jobs or the client <c>Jobs:MaxQueuedPerClient</c>. Checked after validation, so that a
    /// request that cannot train says so even when the queue is full. Submissions at the same moment may each see room
    /// for one: the bound can be passed by the number of them, never grown without bound.
    /// </summary>
    public static async Task CheckQueueAsync(RnnDbContext context, HttpContext http, JobsOptions limits, CancellationToken cancellationToken)
    {
        if (await context.TrainingJobs.CountAsync(j => j.State == JobState.Queued, cancellationToken) >= limits.MaxQueued)
            throw new ServiceBusyException(
                $"The job queue is full ({limits.MaxQueued} jobs waiting); nothing was stored, retry later.", limits.RetryAfterSeconds);
        var client = ClientIdentity.Of(http);
        if (limits.MaxQueuedPerClient > 0
            && await context.TrainingJobs.CountAsync(j => j.ClientId == client && j.State == JobState.Queued, cancellationToken) >= limits.MaxQueuedPerClient)
        {
            var who = ClientIdentity.Describe(http);
            throw new ServiceBusyException(
                $"{char.ToUpperInvariant(who[0])}{who[1..]} has {limits.MaxQueuedPerClient} jobs waiting, as many as one client may " +
                $"(Jobs:MaxQueuedPerClient); nothing was stored. Retry when one has started, or cancel one.",
                limits.RetryAfterSeconds, StatusCodes.Status429TooManyRequests, "client_share");
        }
    }
}
