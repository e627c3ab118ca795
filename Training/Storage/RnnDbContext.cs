using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace RnnService.Training.Storage;

/// <summary>
/// The job store: datasets, training jobs (the queue), tuning jobs, model versions with their aliases, and idempotency keys. The schema comes from the hand-written
/// migrations in <c>Migrations/</c>, which a test checks against this model.
/// </summary>
public sealed class RnnDbContext(DbContextOptions<RnnDbContext> options) : DbContext(options)
{
    public DbSet<DatasetRecord> Datasets => Set<DatasetRecord>();

    public DbSet<TrainingJobRecord> TrainingJobs => Set<TrainingJobRecord>();

    public DbSet<ModelVersionRecord> ModelVersions => Set<ModelVersionRecord>();

    public DbSet<TuningJobRecord> TuningJobs => Set<TuningJobRecord>();

    public DbSet<IdempotencyKeyRecord> IdempotencyKeys => Set<IdempotencyKeyRecord>();

    public DbSet<ModelAliasRecord> ModelAliases => Set<ModelAliasRecord>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configuration)
    {
        // Times are UTC everywhere; the database gives them back without a kind, so say so on the way out.
        configuration.Properties<DateTime>().HaveConversion<UtcConverter>();
        configuration.Properties<DateTime?>().HaveConversion<UtcConverter>();
    }

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<DatasetRecord>(dataset =>
        {
            dataset.ToTable("datasets");
            dataset.HasKey(d => d.Id);
            dataset.Property(d => d.Format).HasConversion<string>();
            dataset.Property(d => d.Kind).HasConversion<string>();
            dataset.HasIndex(d => d.CreatedAt);
        });
        model.Entity<TrainingJobRecord>(job =>
        {
            job.ToTable("training_jobs");
            job.HasKey(j => j.Id);
            job.Property(j => j.State).HasConversion<string>();
            job.Property(j => j.Kind).HasConversion<string>();
            job.Property(j => j.StoppedBy).HasConversion<string>();
            job.HasIndex(j => new { j.State, j.CreatedAt });
            job.HasIndex(j => new { j.ClientId, j.State });
            job.HasIndex(j => j.DatasetId);
            job.HasIndex(j => new { j.TuningJobId, j.TrialNumber }).IsUnique();
        });
        model.Entity<TuningJobRecord>(tuning =>
        {
            tuning.ToTable("tuning_jobs");
            tuning.HasKey(t => t.Id);
            tuning.Property(t => t.State).HasConversion<string>();
            tuning.HasIndex(t => new { t.State, t.CreatedAt });
        });
        model.Entity<ModelVersionRecord>(version =>
        {
            version.ToTable("model_versions");
            version.HasKey(v => v.Id);
            version.HasIndex(v => new { v.Name, v.Version }).IsUnique();
            version.HasIndex(v => v.SourceJobId).IsUnique();
            version.HasIndex(v => v.SourceTuningJobId).IsUnique();
        });
        model.Entity<IdempotencyKeyRecord>(key =>
        {
            key.ToTable("idempotency_keys");
            key.HasKey(k => new { k.ClientId, k.Key });
            key.HasIndex(k => k.CreatedAt);
        });
        model.Entity<ModelAliasRecord>(alias =>
        {
            alias.ToTable("model_aliases");
            alias.HasKey(a => new { a.Name, a.Alias });
        });
    }

    private sealed class UtcConverter() : ValueConverter<DateTime, DateTime>(
        value => value.ToUniversalTime(), value => DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
