using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace RnnService.Api.Tests.Infrastructure;

/// <summary>
/// The real service over real HTTP in memory: real SQLite and folders in a fresh temporary data directory, the real
/// worker training with real libtorch, polling and beating fast so that tests do not wait.
/// </summary>
public class RnnServiceFactory : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("rnnservice-tests-").FullName;

    /// <summary>Settings over the test defaults, for a subclass or a test that needs others.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:DataDirectory", DataDirectory);
        builder.UseSetting("Worker:PollSeconds", "0.2");
        builder.UseSetting("Worker:HeartbeatSeconds", "0.2");
        builder.UseSetting("Worker:LeaseSeconds", "5");
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(DataDirectory)) Directory.Delete(DataDirectory, recursive: true);
    }
}

/// <summary>The service without a worker: jobs stay queued, and uploads are limited to 4 KiB.</summary>
public sealed class NoWorkerServiceFactory : RnnServiceFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Worker:Enabled"] = "false",
        ["Datasets:MaxUploadBytes"] = "4096",
    };
}
