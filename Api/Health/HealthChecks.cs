using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.EntityFrameworkCore;
using RnnService.Training.Storage;
using RnnService.Training.Torch;

namespace RnnService.Api.Health;

/// <summary>Ready when libtorch is loaded; reports the device that <c>auto</c> picks and the libtorch version.</summary>
public sealed class EngineHealthCheck(EngineInfo engine) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy(
            $"libtorch {engine.LibtorchVersion} on {engine.DefaultDevice.Kind.ToString().ToLowerInvariant()}",
            new Dictionary<string, object>
            {
                ["device"] = engine.DefaultDevice.Kind.ToString().ToLowerInvariant(),
                ["libtorchVersion"] = engine.LibtorchVersion,
                ["cudaAvailable"] = engine.CudaAvailable,
                ["cudaDeviceCount"] = engine.CudaDeviceCount,
                ["intraOpThreads"] = engine.IntraOpThreads,
            }));
}

/// <summary>Ready when the job store answers and a file can be written in the data directory.</summary>
public sealed class StorageHealthCheck(IOptions<StorageOptions> options, IDbContextFactory<RnnDbContext> contexts, StoreStatus store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext check, CancellationToken cancellationToken = default)
    {
        var directory = options.Value.FullDataDirectory;
        var data = new Dictionary<string, object> { ["dataDirectory"] = directory, ["provider"] = options.Value.Provider.ToString().ToLowerInvariant() };
        try
        {
            Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, $".ready-{Guid.NewGuid():N}");
            await File.WriteAllTextAsync(probe, "ok", cancellationToken);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return HealthCheckResult.Unhealthy($"the data directory is not writable: {e.Message}", e, data);
        }
        if (!store.IsReady) return HealthCheckResult.Unhealthy($"the job store is not ready: {store.Problem ?? "starting"}", data: data);
        await using (var context = await contexts.CreateDbContextAsync(cancellationToken))
        {
            if (!await context.Database.CanConnectAsync(cancellationToken))
                return HealthCheckResult.Unhealthy("the job store does not answer", data: data);
        }
        return HealthCheckResult.Healthy("the job store answers and the data directory is writable", data);
    }
}
