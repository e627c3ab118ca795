using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RnnService.Api.Configuration;
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

/// <summary>Ready when the data directory exists and a file can be written there.</summary>
public sealed class StorageHealthCheck(IOptions<StorageOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var directory = options.Value.FullDataDirectory;
        var data = new Dictionary<string, object> { ["dataDirectory"] = directory };
        try
        {
            Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, $".ready-{Guid.NewGuid():N}");
            await File.WriteAllTextAsync(probe, "ok", cancellationToken);
            File.Delete(probe);
            return HealthCheckResult.Healthy("the data directory is writable", data);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return HealthCheckResult.Unhealthy($"the data directory is not writable: {e.Message}", e, data);
        }
    }
}
