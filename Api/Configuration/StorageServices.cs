using RnnService.Api.Health;
using System.ComponentModel.DataAnnotations;

namespace RnnService.Api.Configuration;

/// <summary>Where state lives. The embedded default: everything under one local folder.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The data directory (relative paths are taken from the working directory).</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    public string FullDataDirectory => Path.GetFullPath(DataDirectory);
}

public static class StorageServices
{
    public static IHostApplicationBuilder AddStorageServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: ["ready"]);
        return builder;
    }
}
