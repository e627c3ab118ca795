using Microsoft.EntityFrameworkCore;
using RnnService.Domain.Jobs;
using RnnService.Training.Storage;

namespace RnnService.Training.Jobs;

/// <summary>
/// The training-job queue, kept in the job store. A worker claims a job with a conditional update (only one claim of
/// a queued job can succeed; on PostgreSQL the row is also locked with <c>SKIP LOCKED</c>, so workers don't collide)
/// and holds it with a lease that its heartbeat extends; a job whose lease ran out goes back to <c>queued</c> and the
/// next claim resumes it from its checkpoint. Every write a worker makes is conditional on still holding the lease,
/// so a worker that lost its job cannot overwrite what the new holder records.
/// </summary>
public sealed class JobQueue(IDbContextFactory<RnnDbContext> contexts, TimeProvider time)
{
    public DateTime Now => StoredTime.Now(time);

    public async Task EnqueueAsync(TrainingJobRecord job, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        job.State = JobState.Queued;
        job.CreatedAt = job.UpdatedAt = Now;
        context.TrainingJobs.Add(job);
        await context.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Puts running jobs whose worker stopped renewing the lease back in the queue; returns how many.</summary>
    public async Task<int> RequeueExpiredAsync(CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        return await context.TrainingJobs
            .Where(job => job.State == JobState.Running && job.LeaseExpiresAt < now)
            .ExecuteUpdateAsync(set => set
                .SetProperty(job => job.State, JobState.Queued)
                .SetProperty(job => job.LeaseOwner, (string?)null)
                .SetProperty(job => job.LeaseExpiresAt, (DateTime?)null)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken);
    }

    /// <summary>Claims the oldest queued job for <paramref name="worker"/>, or returns null when there is none.</summary>
    public async Task<TrainingJobRecord?> TryClaimAsync(string worker, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return context.Database.IsNpgsql()
            ? await TryClaimLockedAsync(context, worker, lease, cancellationToken)
            : await TryClaimOptimisticAsync(context, worker, lease, cancellationToken);
    }

    /// <summary>
    /// PostgreSQL: the oldest queued row that no other transaction holds is locked (<c>FOR UPDATE SKIP LOCKED</c>) and
    /// claimed in one transaction, so concurrent workers each take a different job without waiting on one another.
    /// </summary>
    private async Task<TrainingJobRecord?> TryClaimLockedAsync(RnnDbContext context, string worker, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
        var queued = nameof(JobState.Queued);
        var candidates = await context.Database.SqlQuery<string>($"""
            SELECT "Id" AS "Value" FROM training_jobs WHERE "State" = {queued}
            ORDER BY "CreatedAt" LIMIT 1 FOR UPDATE SKIP LOCKED
            """).ToListAsync(cancellationToken);
        if (candidates.Count == 0) return null;
        var claimed = await ClaimAsync(context, candidates[0], worker, lease, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return claimed;
    }

    /// <summary>
    /// SQLite (one writer at a time): read the oldest queued job, then claim it with an update that only succeeds while
    /// it is still queued; when another worker was quicker, try the next one.
    /// </summary>
    private async Task<TrainingJobRecord?> TryClaimOptimisticAsync(RnnDbContext context, string worker, TimeSpan lease, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var candidate = await context.TrainingJobs.AsNoTracking()
                .Where(job => job.State == JobState.Queued)
                .OrderBy(job => job.CreatedAt).Select(job => job.Id)
                .FirstOrDefaultAsync(cancellationToken);
            if (candidate is null) return null;
            var claimed = await ClaimAsync(context, candidate, worker, lease, cancellationToken);
            if (claimed is not null) return claimed;
        }
        return null;
    }

    /// <summary>Marks a queued job running under <paramref name="worker"/>'s lease; null when it is no longer queued.</summary>
    private async Task<TrainingJobRecord?> ClaimAsync(RnnDbContext context, string jobId, string worker, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = Now;
        var claimed = await context.TrainingJobs
            .Where(job => job.Id == jobId && job.State == JobState.Queued)
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
        return await OwnedBy(context, jobId, worker).ExecuteUpdateAsync(set => set
            .SetProperty(job => job.Device, job => device ?? job.Device)
            .SetProperty(job => job.Progress, job => progress ?? job.Progress)
            .SetProperty(job => job.History, job => history ?? job.History)
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

    /// <summary>Gives a running job back to the queue (the worker is shutting down); the next claim resumes it.</summary>
    public async Task ReleaseAsync(string jobId, string worker, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        await OwnedBy(context, jobId, worker).ExecuteUpdateAsync(set => set
            .SetProperty(job => job.State, JobState.Queued)
            .SetProperty(job => job.LeaseOwner, (string?)null)
            .SetProperty(job => job.LeaseExpiresAt, (DateTime?)null)
            .SetProperty(job => job.UpdatedAt, now), cancellationToken);
    }

    /// <summary>
    /// Asks for a job to end: a queued job is cancelled at once, a running one is flagged for its worker. Returns the
    /// job as it stands afterwards, or null when there is no such job.
    /// </summary>
    public async Task<TrainingJobRecord?> CancelAsync(string jobId, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var now = Now;
        await context.TrainingJobs.Where(job => job.Id == jobId && job.State == JobState.Queued)
            .ExecuteUpdateAsync(set => set
                .SetProperty(job => job.State, JobState.Cancelled)
                .SetProperty(job => job.CancelRequested, true)
                .SetProperty(job => job.FinishedAt, now)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken);
        await context.TrainingJobs.Where(job => job.Id == jobId && job.State == JobState.Running)
            .ExecuteUpdateAsync(set => set
                .SetProperty(job => job.CancelRequested, true)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken);
        return await context.TrainingJobs.AsNoTracking().SingleOrDefaultAsync(job => job.Id == jobId, cancellationToken);
    }

    private static IQueryable<TrainingJobRecord> OwnedBy(RnnDbContext context, string jobId, string worker) =>
        context.TrainingJobs.Where(job => job.Id == jobId && job.State == JobState.Running && job.LeaseOwner == worker);
}
