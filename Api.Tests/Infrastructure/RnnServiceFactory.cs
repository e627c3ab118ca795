using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace RnnService.Api.Tests.Infrastructure;

/// <summary>
/// The real service over real HTTP in memory: real SQLite and folders in a fresh temporary data directory, the real
/// worker training with real libtorch, polling and beating fast so that tests do not wait. With
/// <c>RNNSERVICE_TEST_STORE=postgres</c> every such service gets its own database on the tests' PostgreSQL instead.
/// </summary>
public class RnnServiceFactory : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string> settings;
    private readonly PostgresDatabase? database =
        Environment.GetEnvironmentVariable("RNNSERVICE_TEST_STORE") == "postgres" ? new PostgresDatabase() : null;

    public RnnServiceFactory() : this(new Dictionary<string, string>())
    {
    }

    /// <summary>Protected: a class fixture may have one public constructor; tests call <see cref="With"/>.</summary>
    protected RnnServiceFactory(IReadOnlyDictionary<string, string> settings) => this.settings = settings;

    /// <summary>The service with these settings over the test defaults (<c>["Inference:CacheMaxModels"] = "2"</c>).</summary>
    public static RnnServiceFactory With(IReadOnlyDictionary<string, string> settings) => new(settings);

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("rnnservice-tests-").FullName;

    /// <summary>The settings that put another service on this one's store (folder, and database when PostgreSQL).</summary>
    public IReadOnlyDictionary<string, string> StoreSettings =>
        new Dictionary<string, string>(database?.Settings ?? new Dictionary<string, string>()) { ["Storage:DataDirectory"] = DataDirectory };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:DataDirectory", DataDirectory);
        builder.UseSetting("Worker:PollSeconds", "0.2");
        builder.UseSetting("Worker:HeartbeatSeconds", "0.2");
        builder.UseSetting("Worker:LeaseSeconds", "5");
        foreach (var (key, value) in database?.Settings ?? new Dictionary<string, string>()) builder.UseSetting(key, value);
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) database?.Dispose();
        if (disposing && Directory.Exists(DataDirectory)) Directory.Delete(DataDirectory, recursive: true);
    }
}

/// <summary>The service in the api role only (no worker): jobs stay queued, and uploads are limited to 4 KiB.</summary>
public sealed class NoWorkerServiceFactory() : RnnServiceFactory(new Dictionary<string, string>
{
    ["Roles"] = "api",
    ["Datasets:MaxUploadBytes"] = "4096",
});
