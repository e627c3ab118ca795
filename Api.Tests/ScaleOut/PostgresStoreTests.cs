using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Jobs;
using RnnService.Training.Jobs;
using RnnService.Training.Storage;

namespace RnnService.Api.Tests.ScaleOut;

/// <summary>The job store on a real PostgreSQL: the same migrations, and a queue that concurrent workers share safely.</summary>
public sealed class PostgresStoreTests : IDisposable
{
    private readonly PostgresDatabase database = new();
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("rnnservice-pg-").FullName;
    private readonly ServiceProvider services;

    public PostgresStoreTests()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(database.Settings.Append(new("Storage:DataDirectory", dataDirectory))!)
            .Build();
        services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddJobStore().BuildServiceProvider();
    }

    private IDbContextFactory<RnnDbContext> Contexts => services.GetRequiredService<IDbContextFactory<RnnDbContext>>();

    [Fact]
    public async Task MigratingGivesTheSchemaTheModelWouldCreate()
    {
        await MigrateAsync();
        using var created = new PostgresDatabase();
        var options = new DbContextOptionsBuilder<RnnDbContext>().UseNpgsql(created.ConnectionString).Options;
        await using (var context = new RnnDbContext(options)) await context.Database.EnsureCreatedAsync();

        var migrated = await SchemaAsync(database);
        Assert.Equal(await SchemaAsync(created), migrated);
        Assert.Contains("training_jobs.LeaseExpiresAt timestamp with time zone null", migrated);
        Assert.Contains("index IX_model_versions_SourceJobId: CREATE UNIQUE INDEX", migrated);
    }

    [Fact]
    public async Task ReplicasMigratingAtOnceLeaveOneMigration()
    {
        // Every replica migrates at start (here four at once); EF Core's migration lock lets one do it, the others find it done.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(MigrateAsync)));
        await MigrateAsync();

        Assert.Equal(["20261122000000_Initial", "20261201000000_JobBudgets", "20261202000000_TuningJobs", "20261203000000_Automation"],
            await database.QueryAsync<string>("""SELECT "MigrationId" FROM "__EFMigrationsHistory" ORDER BY "MigrationId" """));
    }

    [Fact]
    public async Task ConcurrentWorkersClaimEveryJobExactlyOnce()
    {
        await MigrateAsync();
        var queue = new JobQueue(Contexts, TimeProvider.System, Options.Create(new JobsOptions()));
        var ids = Enumerable.Range(0, 40).Select(n => $"job_{n:00}").ToList();
        foreach (var id in ids) await queue.EnqueueAsync(Job(id));

        var claims = new ConcurrentBag<(string Worker, string Job)>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            while (await queue.TryClaimAsync($"worker-{w}", TimeSpan.FromMinutes(1)) is { } job) claims.Add(($"worker-{w}", job.Id));
        })));

        Assert.Equal(ids, claims.Select(claim => claim.Job).Order());
        Assert.True(claims.Select(claim => claim.Worker).Distinct().Count() > 1, "one worker took every job");
        await using var context = await Contexts.CreateDbContextAsync();
        var stored = await context.TrainingJobs.AsNoTracking().ToListAsync();
        Assert.All(stored, job =>
        {
            Assert.Equal(JobState.Running, job.State);
            Assert.Equal(1, job.Attempts);
            Assert.Equal(claims.Single(claim => claim.Job == job.Id).Worker, job.LeaseOwner);
        });
    }

    [Fact]
    public async Task AnExpiredLeaseGoesBackToTheQueueAndTheOldHolderCanNoLongerWrite()
    {
        await MigrateAsync();
        var queue = new JobQueue(Contexts, TimeProvider.System, Options.Create(new JobsOptions()));
        await queue.EnqueueAsync(Job("job_lost"));
        Assert.NotNull(await queue.TryClaimAsync("gone", TimeSpan.FromMilliseconds(200)));

        await Task.Delay(400);
        Assert.Equal(1, (await queue.RequeueExpiredAsync()).Requeued);
        var resumed = await queue.TryClaimAsync("heir", TimeSpan.FromMinutes(1));

        Assert.Equal(2, resumed!.Attempts);
        Assert.False(await queue.UpdateAsync("job_lost", "gone", null, """{"epoch":9}""", null));
        Assert.False((await queue.HeartbeatAsync("job_lost", "gone", TimeSpan.FromMinutes(1))).Held);
        Assert.True(await queue.UpdateAsync("job_lost", "heir", null, """{"epoch":1}""", null));
        Assert.True(await queue.FinishAsync("job_lost", "heir", JobState.Failed, null, "test"));
        Assert.False(await queue.FinishAsync("job_lost", "gone", JobState.Cancelled, null, null));
    }

    private async Task MigrateAsync()
    {
        await using var context = await Contexts.CreateDbContextAsync();
        await DatabaseMigrator.MigrateAsync(context);
    }

    private static TrainingJobRecord Job(string id) => new() { Id = id, DatasetId = "ds_x", ModelName = "m", Request = "{}" };

    /// <summary>Columns (type, nullability), keys and index definitions of the public schema, as sorted text.</summary>
    private static async Task<string> SchemaAsync(PostgresDatabase db)
    {
        var columns = await db.QueryAsync<string>("""
            SELECT table_name || '.' || column_name || ' ' || data_type || CASE is_nullable WHEN 'YES' THEN ' null' ELSE '' END
            FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '__EF%'
            """);
        var keys = await db.QueryAsync<string>("""
            SELECT 'key ' || tc.table_name || ' ' || tc.constraint_name || ' ' || kcu.column_name
            FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu USING (constraint_name, table_name)
            WHERE tc.table_schema = 'public' AND tc.table_name NOT LIKE '__EF%'
            """);
        var indexes = await db.QueryAsync<string>("""
            SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE '__EF%'
            """);
        return string.Join("\n", columns.Concat(keys).Concat(indexes).Order(StringComparer.Ordinal));
    }

    public void Dispose()
    {
        services.Dispose();
        database.Dispose();
        Directory.Delete(dataDirectory, recursive: true);
    }
}
