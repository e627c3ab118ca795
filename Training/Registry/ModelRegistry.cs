using Microsoft.EntityFrameworkCore;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Training.Storage;

namespace RnnService.Training.Registry;

/// <summary>
/// Numbered versions of named models. A succeeded job adds the next version of its name in the same transaction that
/// marks it succeeded, and only while its worker holds the lease: a job registers one version, never two. A tuning
/// job registers its best trial's model the same way, once.
/// </summary>
public sealed class ModelRegistry(IDbContextFactory<RnnDbContext> contexts, FileStore files, TimeProvider time)
{
    /// <summary>
    /// Stores the weights (<paramref name="writeWeights"/> writes the file) and registers the version; the job ends
    /// succeeded, stopped by <paramref name="stoppedBy"/>. Returns the version's number, or null when the worker lost the job.
    /// </summary>
    public Task<int?> RegisterFromJobAsync(
        string jobId, string worker, ModelVersionRecord version, Func<Stream, Task> writeWeights, string? metrics, StopReason stoppedBy,
        byte[]? evaluation = null, CancellationToken cancellationToken = default)
    {
        version.SourceJobId = jobId;
        return AddAsync(version, writeWeights, evaluation, async (context, now) => 1 == await context.TrainingJobs
            .Where(job => job.Id == jobId && job.State == JobState.Running && job.LeaseOwner == worker)
            .ExecuteUpdateAsync(set => set
                .SetProperty(job => job.State, JobState.Succeeded)
                .SetProperty(job => job.ModelVersion, version.Version)
                .SetProperty(job => job.Metrics, metrics)
                .SetProperty(job => job.StoppedBy, stoppedBy)
                .SetProperty(job => job.FinishedAt, now)
                .SetProperty(job => job.LeaseOwner, (string?)null)
                .SetProperty(job => job.LeaseExpiresAt, (DateTime?)null)
                .SetProperty(job => job.UpdatedAt, now), cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Registers a tuning job's best trial (<paramref name="bestJobId"/>) as a version and marks the search succeeded,
    /// in one transaction and only while it is still running; null when another process finished it first.
    /// </summary>
    public Task<int?> RegisterFromTuningAsync(
        string tuningJobId, string bestJobId, ModelVersionRecord version, Func<Stream, Task> writeWeights, byte[]? evaluation = null,
        CancellationToken cancellationToken = default)
    {
        version.SourceTuningJobId = tuningJobId;
        return AddAsync(version, writeWeights, evaluation, async (context, now) => 1 == await context.TuningJobs
            .Where(t => t.Id == tuningJobId && t.State == JobState.Running && !t.CancelRequested)
            .ExecuteUpdateAsync(set => set
                .SetProperty(t => t.State, JobState.Succeeded)
                .SetProperty(t => t.BestJobId, bestJobId)
                .SetProperty(t => t.ModelVersion, version.Version)
                .SetProperty(t => t.FinishedAt, now)
                .SetProperty(t => t.UpdatedAt, now), cancellationToken), cancellationToken);
    }

    /// <summary>Stores imported weights and registers them as the name's next version; returns its number.</summary>
    public async Task<int> RegisterImportAsync(ModelVersionRecord version, Func<Stream, Task> writeWeights, CancellationToken cancellationToken = default) =>
        (await AddAsync(version, writeWeights, null, null, cancellationToken))!.Value;

    /// <summary>
    /// The file beside a version's weights with what it did on its validation split (JSON of a <c>ModelEvaluation</c>);
    /// trained versions have one, imports do not.
    /// </summary>
    public string EvaluationPath(ModelVersionRecord version) => files.WeightsPath(version.Id + ".evaluation.json");

    /// <summary>A version of a name, or its latest when <paramref name="version"/> is null; null when there is none.</summary>
    public async Task<ModelVersionRecord?> FindAsync(string name, int? version, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return version is { } number ? await FindVersion(context, name, number, cancellationToken) : await FindLatest(context, name, cancellationToken);
    }

    // The lookups of every /predict, compiled once: EF otherwise walks and hashes the query's expression on each call.
    private static readonly Func<RnnDbContext, string, CancellationToken, Task<ModelVersionRecord?>> FindLatest =
        EF.CompileAsyncQuery((RnnDbContext context, string name, CancellationToken _) =>
            context.ModelVersions.AsNoTracking().Where(v => v.Name == name).OrderByDescending(v => v.Version).FirstOrDefault());

    private static readonly Func<RnnDbContext, string, int, CancellationToken, Task<ModelVersionRecord?>> FindVersion =
        EF.CompileAsyncQuery((RnnDbContext context, string name, int version, CancellationToken _) =>
            context.ModelVersions.AsNoTracking().SingleOrDefault(v => v.Name == name && v.Version == version));

    // One query: the alias and the version it points to are read together, so a moved alias is seen whole or not at all.
    private static readonly Func<RnnDbContext, string, string, CancellationToken, Task<ModelVersionRecord?>> FindAliased =
        EF.CompileAsyncQuery((RnnDbContext context, string name, string alias, CancellationToken _) =>
            context.ModelAliases.AsNoTracking().Where(a => a.Name == name && a.Alias == alias)
                .Join(context.ModelVersions.AsNoTracking(), a => new { a.Name, a.Version }, v => new { v.Name, v.Version }, (a, v) => v)
                .SingleOrDefault());

    /// <summary>
    /// Writes the weights (straight to their file) and the evaluation when there is one, then adds the version under the name's next number. <paramref name="condition"/>, when given,
    /// runs first in the same transaction and may refuse (false): then nothing is registered and the weights are removed.
    /// </summary>
    private async Task<int?> AddAsync(
        ModelVersionRecord version, Func<Stream, Task> writeWeights, byte[]? evaluation, Func<RnnDbContext, DateTime, Task<bool>>? condition,
        CancellationToken cancellationToken)
    {
        version.WeightsFile = version.Id + ".pt";
        var path = files.WeightsPath(version.WeightsFile);
        var evaluationPath = EvaluationPath(version);
        await FileStore.WriteAtomicallyAsync(path, writeWeights, cancellationToken);
        try
        {
            if (evaluation is not null) await FileStore.WriteAtomicallyAsync(evaluationPath, stream => stream.WriteAsync(evaluation, cancellationToken).AsTask(), cancellationToken);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                await using var context = await contexts.CreateDbContextAsync(cancellationToken);
                await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
                var now = StoredTime.Now(time);
                version.Version = 1 + (await context.ModelVersions.Where(v => v.Name == version.Name)
                    .MaxAsync(v => (int?)v.Version, cancellationToken) ?? 0);
                version.CreatedAt = now;
                if (condition is not null && !await condition(context, now))
                {
                    File.Delete(path);
                    File.Delete(evaluationPath);
                    return null;
                }
                context.ModelVersions.Add(version);
                try
                {
                    await context.SaveChangesAsync(cancellationToken);
                    await transaction.CommitAsync(cancellationToken);
                    return version.Version;
                }
                catch (DbUpdateException) when (attempt < 3)
                {
                    // Another writer took this version number first (a concurrent job or import of the same name).
                    await transaction.RollbackAsync(cancellationToken);
                }
            }
        }
        catch
        {
            File.Delete(path);
            File.Delete(evaluationPath);
            throw;
        }
    }

    /// <summary>Deletes a version's record and weights; returns the deleted record's id, or null when there is no such version.</summary>
    /// <summary>
    /// Deletes a version unless an alias points to it. Serializable with <see cref="SetAliasAsync"/>: an alias set at the same
    /// moment either keeps the version or finds it gone.
    /// </summary>
    public async Task<DeletedVersion> DeleteAsync(string name, int number, CancellationToken cancellationToken = default)
    {
        var (deleted, aliases) = await SerializableAsync<(ModelVersionRecord?, List<string>)>(async context =>
        {
            var version = await context.ModelVersions.SingleOrDefaultAsync(v => v.Name == name && v.Version == number, cancellationToken);
            if (version is null) return (null, []);
            var aliases = await context.ModelAliases.AsNoTracking().Where(a => a.Name == name && a.Version == number)
                .Select(a => a.Alias).OrderBy(a => a).ToListAsync(cancellationToken);
            if (aliases.Count > 0) return (null, aliases);
            context.ModelVersions.Remove(version);
            await context.SaveChangesAsync(cancellationToken);
            return (version, []);
        }, cancellationToken);
        if (deleted is not null)
        {
            File.Delete(files.WeightsPath(deleted.WeightsFile));
            File.Delete(EvaluationPath(deleted));
        }
        return new DeletedVersion(deleted?.Id, aliases);
    }

    /// <summary>The version <paramref name="reference"/> names: by number, by alias, or the latest; null when there is none.</summary>
    public async Task<ModelVersionRecord?> FindAsync(ModelSelector reference, CancellationToken cancellationToken = default)
    {
        if (reference.Alias is not { } alias) return await FindAsync(reference.Name, reference.Version, cancellationToken);
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await FindAliased(context, reference.Name, alias, cancellationToken);
    }

    /// <summary>A name's aliases and the versions they point to (<c>latest</c> is not stored: it is always the newest).</summary>
    public async Task<IReadOnlyList<ModelAliasRecord>> AliasesAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.ModelAliases.AsNoTracking().Where(a => a.Name == name).OrderBy(a => a.Alias).ToListAsync(cancellationToken);
    }

    /// <summary>
    /// Points <paramref name="alias"/> of <paramref name="name"/> at <paramref name="number"/>, creating it or moving it in one
    /// statement: a request resolving the alias sees the old version or the new one. Null when there is no such version.
    /// </summary>
    public Task<ModelAliasRecord?> SetAliasAsync(string name, string alias, int number, CancellationToken cancellationToken = default) =>
        SerializableAsync(async context =>
        {
            if (!await context.ModelVersions.AnyAsync(v => v.Name == name && v.Version == number, cancellationToken)) return null;
            var now = StoredTime.Now(time);
            var record = await context.ModelAliases.SingleOrDefaultAsync(a => a.Name == name && a.Alias == alias, cancellationToken);
            if (record is null) context.ModelAliases.Add(record = new ModelAliasRecord { Name = name, Alias = alias, Version = number, UpdatedAt = now });
            else (record.Version, record.UpdatedAt) = (number, now);
            await context.SaveChangesAsync(cancellationToken);
            return record;
        }, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in a serializable transaction and commits it, again from the start when the store refuses
    /// it for a concurrent one (a serialization failure, or a key another request inserted first).
    /// </summary>
    private async Task<T> SerializableAsync<T>(Func<RnnDbContext, Task<T>> work, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var context = await contexts.CreateDbContextAsync(cancellationToken);
            try
            {
                await using var transaction = await context.Database.BeginTransactionAsync(System.Data.IsolationLevel.Serializable, cancellationToken);
                var result = await work(context);
                await transaction.CommitAsync(cancellationToken);
                return result;
            }
            catch (Exception exception) when (exception is DbUpdateException or System.Data.Common.DbException && attempt < 5)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10 * attempt), time, cancellationToken);
            }
        }
    }

    /// <summary>Removes an alias; false when there was none.</summary>
    public async Task<bool> RemoveAliasAsync(string name, string alias, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.ModelAliases.Where(a => a.Name == name && a.Alias == alias).ExecuteDeleteAsync(cancellationToken) == 1;
    }
}

/// <summary>What deleting a version did: the deleted version's id, or the aliases that point to it and kept it.</summary>
public sealed record DeletedVersion(string? Id, IReadOnlyList<string> KeptByAliases);
