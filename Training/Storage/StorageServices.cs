using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RnnService.Training.Storage;

public static class StorageRegistration
{
    /// <summary>The job store (EF Core on the configured provider), migrated at start-up, and the data folders.</summary>
    public static IServiceCollection AddJobStore(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // Pooled: every /predict reads the store (which version a name means now), and a context made afresh each time
        // cost as much as the query (a third of the request's time outside the engine, in the serving profile).
        services.AddPooledDbContextFactory<RnnDbContext>((provider, options) =>
        {
            var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            switch (storage.Provider)
            {
                case StorageProvider.Sqlite:
                    options.UseSqlite(storage.ResolvedConnectionString);
                    break;
                case StorageProvider.Postgres:
                    // Transient failures (a failover, a restart) are retried by each caller's own loop: the worker
                    // polls again, a heartbeat beats again. EF's retrying strategy would forbid our own transactions.
                    options.UseNpgsql(storage.ResolvedConnectionString);
                    break;
                default:
                    throw new InvalidOperationException($"Storage:Provider '{storage.Provider}' is not supported.");
            }
            // The migrations are hand-written without a model snapshot; a test keeps them equal to the model.
            options.ConfigureWarnings(warnings => warnings.Ignore(
                Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.ModelSnapshotNotFound,
                Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning));
        });
        services.AddSingleton<FileStore>();
        services.AddSingleton<StoreStatus>();
        // Registered before the worker so that the schema exists when it first polls.
        services.AddHostedService<DatabaseMigrator>();
        return services;
    }
}

/// <summary>Whether the job store is usable yet: the worker waits for it, readiness reports it.</summary>
public sealed class StoreStatus
{
    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Ready => ready.Task;

    public bool IsReady => ready.Task.IsCompleted;

    /// <summary>Why the store is not ready, while it is not.</summary>
    public string? Problem { get; internal set; }

    internal void MarkReady()
    {
        Problem = null;
        ready.TrySetResult();
    }
}

/// <summary>
/// Creates the data folders and brings the database schema up to date before anything else uses them. When the store
/// cannot be reached at start (a database still starting, an unwritable folder), the process keeps running, reports
/// not ready, and tries again every few seconds.
/// </summary>
public sealed class DatabaseMigrator(
    IDbContextFactory<RnnDbContext> contexts, IOptions<StorageOptions> options, StoreStatus status, ILogger<DatabaseMigrator> logger)
    : IHostedService, IDisposable
{
    /// <summary>The advisory lock PostgreSQL replicas migrate under (any number no other part of the schema uses).</summary>
    private const long MigrationLock = 0x526e6e4d69677261;  // "RnnMigra"

    private readonly CancellationTokenSource stopping = new();
    private Task retries = Task.CompletedTask;
    private volatile bool disposed;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await TryMigrateAsync(cancellationToken)) return;
        retries = Task.Run(async () =>
        {
            while (!stopping.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), stopping.Token);
                if (await TryMigrateAsync(stopping.Token)) return;
            }
        });
    }

    private async Task<bool> TryMigrateAsync(CancellationToken cancellationToken)
    {
        var storage = options.Value;
        try
        {
            Directory.CreateDirectory(storage.DatasetsDirectory);
            Directory.CreateDirectory(storage.ModelsDirectory);
            Directory.CreateDirectory(storage.CheckpointsDirectory);
            Directory.CreateDirectory(storage.PredictionsDirectory);
            await using var context = await contexts.CreateDbContextAsync(cancellationToken);
            await MigrateAsync(context, cancellationToken);
            if (storage.Provider == StorageProvider.Sqlite)
            {
                // Readers (the API) need not wait for the writer (the worker) in write-ahead-log mode.
                await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            }
            status.MarkReady();
            logger.LogInformation("Job store ready: {Provider} under {Directory}", storage.Provider, storage.FullDataDirectory);
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            status.Problem = exception.Message;
            logger.LogError(exception, "The job store is not usable yet; trying again in 5 s");
            return false;
        }
    }

    /// <summary>
    /// Brings the schema up to date. On PostgreSQL, replicas starting together take turns: EF Core's own lock is held per
    /// migration, so with two or more pending a second replica would apply the later ones again; a session lock held over
    /// the whole run keeps it out until the first is done, and it then finds nothing to do.
    /// </summary>
    public static async Task MigrateAsync(RnnDbContext context, CancellationToken cancellationToken = default)
    {
        if (!context.Database.IsNpgsql())
        {
            await context.Database.MigrateAsync(cancellationToken);
            return;
        }
        await context.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await context.Database.ExecuteSqlAsync($"SELECT pg_advisory_lock({MigrationLock})", cancellationToken);
            try
            {
                await context.Database.MigrateAsync(cancellationToken);
            }
            finally
            {
                await context.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({MigrationLock})", CancellationToken.None);
            }
        }
        finally
        {
            await context.Database.CloseConnectionAsync();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A host may be stopped again after it was disposed (a test factory's second stop); nothing is left to do then.
        if (disposed) return;
        await stopping.CancelAsync();
        try
        {
            await retries;
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        disposed = true;
        stopping.Dispose();
    }
}

/// <summary>
/// The files of datasets, model weights and checkpoints, each named by an id the service generated. A name is one path
/// segment of letters, digits, '.', '_' and '-' (not '.' or '..'), and the path it gives is checked to lie inside its
/// folder: nothing a request carries can reach a file outside the data directory.
/// </summary>
public sealed class FileStore(IOptions<StorageOptions> options)
{
    public string DatasetPath(string fileName) => Inside(options.Value.DatasetsDirectory, fileName);

    public string WeightsPath(string fileName) => Inside(options.Value.ModelsDirectory, fileName);

    public string PredictionPath(string fileName) => Inside(options.Value.PredictionsDirectory, fileName);

    public string CheckpointDirectory(string jobId) => Inside(options.Value.CheckpointsDirectory, jobId);

    /// <summary>True when <paramref name="name"/> may name a file or folder of the store.</summary>
    public static bool IsSafeName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 200 && name is not ("." or "..")
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>The path of <paramref name="name"/> in <paramref name="folder"/>; refuses any name that could leave it.</summary>
    public static string Inside(string folder, string name)
    {
        if (!IsSafeName(name)) throw new ArgumentException($"'{name}' is not a valid storage name", nameof(name));
        var root = Path.GetFullPath(folder);
        var path = Path.GetFullPath(Path.Combine(root, name));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"'{name}' leads outside {root}", nameof(name));
        return path;
    }

    /// <summary>A temporary file beside <paramref name="path"/>, for writing before an atomic rename.</summary>
    public static string TemporaryBeside(string path) => $"{path}.{Guid.NewGuid():N}.tmp";

    /// <summary>Writes a file so that readers see either the old one or the whole new one: temporary file, flush, rename.</summary>
    public static async Task WriteAtomicallyAsync(string path, Func<Stream, Task> write, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = TemporaryBeside(path);
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                await write(stream);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
