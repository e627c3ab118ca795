using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RnnService.Domain.Jobs;
using RnnService.Training.Storage;

namespace RnnService.Training.Jobs;

/// <summary>What one look for expired leases did: jobs put back in the queue, and jobs failed for crashing their workers.</summary>
public sealed record ExpiredLeases(int Requeued, IReadOnlyList<string> Failed);

/// <summary>
/// The training-job queue, kept in the job store. A worker claims a job with a conditional update (only one claim of
/// a queued job can succeed; on PostgreSQL claims also take turns on an advisory lock, so that the per-client limit
/// holds across workers) and holds it with a lease that its heartbeat extends; a job whose lease ran out goes back to
/// <c>queued</c> and the next claim resumes it from its checkpoint, unless its workers died under it
/// <c>Jobs:MaxAttempts</c> times in a row without a new checkpoint, when it ends failed. Clients take turns: the next
/// job claimed is the oldest of the client with the fewest jobs running or queued ahead of it. Every write a worker
/// makes is conditional on still holding the lease, so a worker that lost its job cannot overwrite what the new holder
/// records.
/// </summary>
public sealed class JobQueue(IDbContextFactory<RnnDbContext> contexts, TimeProvider time, IOptions<JobsOptions> options)
{
    /// <summary>The advisory lock PostgreSQL claims take turns on (any number no other part of the schema uses).</summary>
    private const long ClaimLock = 0x526e6e436c61696d;  // "RnnClaim"

    public DateTime Now => StoredTime.Now(time);

    public async Task EnqueueAsync(TrainingJobRecord job, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        job.State = JobState.Queued;
        job.CreatedAt = job.UpdatedAt = Now;
        context.TrainingJobs.Add(job);
        await context.SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// Running jobs whose worker stopped renewing the lease (it died, or lost the store) go back to the queue; a job whose
    /// workers died under it <c>Jobs:MaxAttempts</c> times in a row with no new checkpoint in between ends failed.
    /// </summary>
    public async Task<ExpiredLeases> RequeueExpiredAsync(CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        var limit = options.Value.MaxAttempts;
        var expired = context.TrainingJobs.Where(job => job.State == JobState.Running && job.LeaseExpiresAt < now);
        var poisoned = await expired.Where(job => job.Crashes + 1 >= limit).Select(job => job.Id).ToListAsync(cancellationToken);
        var failed = new List<string>();
        foreach (var id in poisoned)
        {
            var changed = await expired.Where(job => job.Id == id).ExecuteUpdateAsync(set => set
                .SetProperty(job => job.State, JobState.Failed)
                .SetProperty(job => job.Crashes, job => job.Crashes + 1)
                .SetProperty(job => job.Error, PoisonMessage(limit))
                .SetProperty(job => job.FinishedAt, now)
                .SetProperty(job => job.LeaseOwner, (string?)null)
                .SetProperty(job => job.LeaseExpiresAt, (DateTime?)null)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken);
            if (changed == 1) failed.Add(id);
        }
        var requeued = await expired.Where(job => job.Crashes + 1 < limit).ExecuteUpdateAsync(set => set
            .SetProperty(job => job.State, JobState.Queued)
            .SetProperty(job => job.Crashes, job => job.Crashes + 1)
            .SetProperty(job => job.LeaseOwner, (string?)null)
            .SetProperty(job => job.LeaseExpiresAt, (DateTime?)null)
            .SetProperty(job => job.UpdatedAt, now), cancellationToken);
        return new ExpiredLeases(requeued, failed);
    }

    /// <summary>What a job failed for crashing its workers says.</summary>
    public static string PoisonMessage(int attempts) =>
        $"the job's worker died under it {attempts} times in a row (its process crashed or was killed, or lost the job store) " +
        $"without the job writing a new checkpoint in between; the job is failed so that it cannot take more workers down " +
        $"(Jobs:MaxAttempts is {attempts}). Its last checkpoint is kept.";

    /// <summary>
    /// Claims the next queued job for <paramref name="worker"/>, or returns null when there is none it may take: clients in
    /// turn (the fewest jobs running or queued ahead), oldest first within a client, skipping clients at
    /// <c>Jobs:MaxRunningPerClient</c>.
    /// </summary>
    public async Task<TrainingJobRecord?> TryClaimAsync(string worker, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return context.Database.IsNpgsql()
            ? await TryClaimLockedAsync(context, worker, lease, cancellationToken)
            : await TryClaimOptimisticAsync(context, worker, lease, cancellationToken);
    }

    /// <summary>
    /// PostgreSQL: claims take turns on a transaction-scoped advisory lock, so that the choice (which counts the client's
    /// running jobs) and the claim are one step for all workers; a claim takes milliseconds, a job minutes or hours.
    /// </summary>
    private async Task<TrainingJobRecord?> TryClaimLockedAsync(RnnDbContext context, string worker, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
        await context.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({ClaimLock})", cancellationToken);
        var candidate = await NextCandidateAsync(context, cancellationToken);
        if (candidate is null) return null;
        var claimed = await ClaimAsync(context, candidate, worker, lease, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return claimed;
    }

    /// <summary>
    /// SQLite (one writer at a time): choose the next job, then claim it with an update that only succeeds while it is still
    /// queued and its client still under its running limit; when another worker was quicker, choose again.
    /// </summary>
    private async Task<TrainingJobRecord?> TryClaimOptimisticAsync(RnnDbContext context, string worker, TimeSpan lease, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var candidate = await NextCandidateAsync(context, cancellationToken);
            if (candidate is null) return null;
            var claimed = await ClaimAsync(context, candidate, worker, lease, cancellationToken);
            if (claimed is not null) return claimed;
        }
        return null;
    }

    /// <summary>
    /// The job to claim next: among queued jobs whose client is under its running limit, the one with the fewest of its
    /// client's jobs running or queued before it (so clients take turns), then the oldest.
    /// </summary>
    private async Task<string?> NextCandidateAsync(RnnDbContext context, CancellationToken cancellationToken)
    {
        string queued = nameof(JobState.Queued), running = nameof(JobState.Running);
        var maxRunning = options.Value.MaxRunningPerClient;
        var candidates = await context.Database.SqlQuery<string>($"""
            SELECT q."Id" AS "Value" FROM training_jobs AS q
            WHERE q."State" = {queued}
              AND ({maxRunning} = 0 OR (SELECT COUNT(*) FROM training_jobs AS r
                                        WHERE r."ClientId" = q."ClientId" AND r."State" = {running}) < {maxRunning})
            ORDER BY (SELECT COUNT(*) FROM training_jobs AS o
                      WHERE o."ClientId" = q."ClientId"
                        AND (o."State" = {running}
                             OR (o."State" = {queued} AND (o."CreatedAt" < q."CreatedAt" OR (o."CreatedAt" = q."CreatedAt" AND o."Id" < q."Id"))))),
                     q."CreatedAt", q."Id"
            LIMIT 1
            """).ToListAsync(cancellationToken);
        return candidates.Count == 0 ? null : candidates[0];
    }

    /// <summary>
    /// Marks a queued job running under <paramref name="worker"/>'s lease; null when it is no longer queued or its client
    /// reached its running limit meanwhile.
    /// </summary>
    private async Task<TrainingJobRecord?> ClaimAsync(RnnDbContext context, string jobId, string worker, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = Now;
        var maxRunning = options.Value.MaxRunningPerClient;
        var claimed = await context.TrainingJobs
            .Where(job => job.Id == jobId && job.State == JobState.Queued)
            .Where(job => maxRunning == 0
                          || context.TrainingJobs.Count(other => other.ClientId == job.ClientId && other.State == JobState.Running) < maxRunning)
            .ExecuteUpdateAsync(set => set
                .SetProperty(job => job.State, JobState.Running)
                .SetProperty(job => job.LeaseOwner, worker)
                .SetProperty(job => job.LeaseExpiresAt, now + lease)
                .SetProperty(job => job.StartedAt, job => job.StartedAt ?? now)
                .SetProperty(job => job.Attempts, job => job.Attempts + 1)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken);
        return claimed == 1 ? await context.TrainingJobs.AsNoTracking().SingleAsync(job => job.Id == jobId, cancellationToken) : null;
    }

    /// <summary>Extends the lease. Returns whether the worker still holds the job, and whether a cancel was asked for.</summary>
    public async Task<(bool Held, bool CancelRequested)> HeartbeatAsync(string jobId, string worker, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        var held = await OwnedBy(context, jobId, worker)
            .ExecuteUpdateAsync(set => set.SetProperty(job => job.LeaseExpiresAt, now + lease), cancellationToken);
        var cancel = held == 1 && await context.TrainingJobs.AnyAsync(job => job.Id == jobId && job.CancelRequested, cancellationToken);
        return (held == 1, cancel);
    }

    /// <summary>Records the worker's view of the job (device, progress, history); false when the lease is lost.</summary>
    public async Task<bool> UpdateAsync(string jobId, string worker, string? device, string? progress, string? history, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        // Progress is written after the epoch's checkpoint: the job moved on, so its crash count starts again.
        var checkpointed = progress is not null;
        return await OwnedBy(context, jobId, worker).ExecuteUpdateAsync(set => set
            .SetProperty(job => job.Device, job => device ?? job.Device)
            .SetProperty(job => job.Progress, job => progress ?? job.Progress)
            .SetProperty(job => job.History, job => history ?? job.History)
            .SetProperty(job => job.Crashes, job => checkpointed ? 0 : job.Crashes)
            .SetProperty(job => job.UpdatedAt, now), cancellationToken) == 1;
    }

    /// <summary>
    /// Records progress inside an epoch. Unlike <see cref="UpdateAsync"/> it says nothing about checkpoints: the job's crash
    /// count stays. False when the lease is lost.
    /// </summary>
    public async Task<bool> ReportAsync(string jobId, string worker, string progress, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        return await OwnedBy(context, jobId, worker).ExecuteUpdateAsync(set => set
            .SetProperty(job => job.Progress, progress)
            .SetProperty(job => job.UpdatedAt, now), cancellationToken) == 1;
    }

    /// <summary>Ends a running job as failed or cancelled, if the worker still holds it.</summary>
    public async Task<bool> FinishAsync(string jobId, string worker, JobState state, string? metrics, string? error, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        return await OwnedBy(context, jobId, worker).ExecuteUpdateAsync(set => set
            .SetProperty(job => job.State, state)
            .SetProperty(job => job.Metrics, job => metrics ?? job.Metrics)
            .SetProperty(job => job.Error, error)
            .SetProperty(job => job.FinishedAt, now)
            .SetProperty(job => job.LeaseOwner, (string?)null)
            .SetProperty(job => job.LeaseExpiresAt, (DateTime?)null)
            .SetProperty(job => job.UpdatedAt, now), cancellationToken) == 1;
    }

    /// <summary>
    /// Gives a running job back to the queue (the worker is shutting down); the next claim resumes it. A release is not a
    /// crash; when the worker <paramref name="checkpointed"/> the epoch so far, the job's crash count starts again.
    /// </summary>
    public async Task ReleaseAsync(string jobId, string worker, bool checkpointed, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        await OwnedBy(context, jobId, worker).ExecuteUpdateAsync(set => set
            .SetProperty(job => job.State, JobState.Queued)
            .SetProperty(job => job.Crashes, job => checkpointed ? 0 : job.Crashes)
            .SetProperty(job => job.LeaseOwner, (string?)null)
            .SetProperty(job => job.LeaseExpiresAt, (DateTime?)null)
            .SetProperty(job => job.UpdatedAt, now), cancellationToken);
    }

    /// <summary>
    /// Asks for a job to end: a queued job is cancelled at once, a running one is flagged for its worker. Returns the
    /// job as it stands afterwards, or null when there is no such job.
    /// </summary>
    public async Task<TrainingJobRecord?> CancelAsync(string jobId, JobKind kind, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        var jobs = context.TrainingJobs.Where(job => job.Id == jobId && job.Kind == kind);
        await jobs.Where(job => job.State == JobState.Queued)
            .ExecuteUpdateAsync(set => set
                .SetProperty(job => job.State, JobState.Cancelled)
                .SetProperty(job => job.CancelRequested, true)
                .SetProperty(job => job.FinishedAt, now)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken);
        await jobs.Where(job => job.State == JobState.Running)
            .ExecuteUpdateAsync(set => set
                .SetProperty(job => job.CancelRequested, true)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken);
        return await jobs.AsNoTracking().SingleOrDefaultAsync(cancellationToken);
    }

    /// <summary>The job of that id and kind as it stands, or null when there is none.</summary>
    public async Task<TrainingJobRecord?> FindAsync(string jobId, JobKind kind, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.TrainingJobs.AsNoTracking().SingleOrDefaultAsync(job => job.Id == jobId && job.Kind == kind, cancellationToken);
    }

    /// <summary>
    /// Cancels every unfinished trial of a tuning job as <see cref="CancelAsync"/> cancels one: the queued ones at once, the
    /// running ones flagged for their workers. Returns the ids of the trials it reached, for the local worker's signal.
    /// </summary>
    public async Task<IReadOnlyList<string>> CancelTrialsAsync(string tuningJobId, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        var trials = context.TrainingJobs.Where(job => job.TuningJobId == tuningJobId);
        var unfinished = await trials.Where(job => job.State == JobState.Queued || job.State == JobState.Running)
            .Select(job => job.Id).ToListAsync(cancellationToken);
        await trials.Where(job => job.State == JobState.Queued)
            .ExecuteUpdateAsync(set => set
                .SetProperty(job => job.State, JobState.Cancelled)
                .SetProperty(job => job.CancelRequested, true)
                .SetProperty(job => job.FinishedAt, now)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken);
        await trials.Where(job => job.State == JobState.Running)
            .ExecuteUpdateAsync(set => set
                .SetProperty(job => job.CancelRequested, true)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken);
        return unfinished;
    }

    private static IQueryable<TrainingJobRecord> OwnedBy(RnnDbContext context, string jobId, string worker) =>
        context.TrainingJobs.Where(job => job.Id == jobId && job.State == JobState.Running && job.LeaseOwner == worker);
}
