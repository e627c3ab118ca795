using System.ComponentModel.DataAnnotations;

namespace RnnService.Training.Storage;

public enum StorageProvider
{
    /// <summary>The embedded default: a SQLite file in the data directory.</summary>
    Sqlite,

    /// <summary>PostgreSQL, for several processes (API replicas and workers) sharing one job store.</summary>
    Postgres,
}

/// <summary>
/// Where state lives. The embedded default: a SQLite file and plain folders, all under one data directory. To scale
/// out: PostgreSQL for the records, and the data directory on a volume that every process mounts.
/// </summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string Section = "Storage";

    /// <summary>The data directory (relative paths are taken from the working directory).</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>
    /// The database connection string; empty means <c>rnnservice.db</c> in the data directory (SQLite). PostgreSQL
    /// needs one (<c>Host=…;Database=…;Username=…;Password=…</c>).
    /// </summary>
    public string? ConnectionString { get; set; }

    public string FullDataDirectory => Path.GetFullPath(DataDirectory);

    public string DatasetsDirectory => Path.Combine(FullDataDirectory, "datasets");

    public string ModelsDirectory => Path.Combine(FullDataDirectory, "models");

    public string CheckpointsDirectory => Path.Combine(FullDataDirectory, "checkpoints");

    /// <summary>Prediction jobs' results files.</summary>
    public string PredictionsDirectory => Path.Combine(FullDataDirectory, "predictions");

    public string ResolvedConnectionString => string.IsNullOrWhiteSpace(ConnectionString)
        ? $"Data Source={Path.Combine(FullDataDirectory, "rnnservice.db")}"
        : ConnectionString;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enum.IsDefined(Provider))
            yield return new ValidationResult($"Storage:Provider must be Sqlite or Postgres, not '{Provider}'.", [nameof(Provider)]);
        if (Provider == StorageProvider.Postgres && string.IsNullOrWhiteSpace(ConnectionString))
            yield return new ValidationResult(
                "Storage:ConnectionString is required with Storage:Provider=Postgres (Host=…;Database=…;Username=…;Password=…).",
                [nameof(ConnectionString)]);
    }
}
