using System.ComponentModel.DataAnnotations;

namespace RnnService.Training.Storage;

public enum StorageProvider
{
    /// <summary>The embedded default: a SQLite file in the data directory.</summary>
    Sqlite,
}

/// <summary>Where state lives. The embedded default: a SQLite file and plain folders, all under one data directory.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The data directory (relative paths are taken from the working directory).</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>The database connection string; empty means <c>rnnservice.db</c> in the data directory (SQLite).</summary>
    public string? ConnectionString { get; set; }

    public string FullDataDirectory => Path.GetFullPath(DataDirectory);

    public string DatasetsDirectory => Path.Combine(FullDataDirectory, "datasets");

    public string ModelsDirectory => Path.Combine(FullDataDirectory, "models");

    public string CheckpointsDirectory => Path.Combine(FullDataDirectory, "checkpoints");

    public string ResolvedConnectionString => string.IsNullOrWhiteSpace(ConnectionString)
        ? $"Data Source={Path.Combine(FullDataDirectory, "rnnservice.db")}"
        : ConnectionString;
}
