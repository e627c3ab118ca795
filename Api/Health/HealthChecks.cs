using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.EntityFrameworkCore;
using RnnService.Api.Inference;
using RnnService.Training.Jobs;
using RnnService.Training.Storage;
using RnnService.Training.Torch;

namespace RnnService.Api.Health;

/// <summary>
/// Ready when libtorch is loaded. Reports the device that <c>auto</c> picks, the devices this process trains
/// (worker) and serves (api) on, and the libtorch version.
/// </summary>
public sealed class EngineHealthCheck(EngineInfo engine, ServiceRoles roles, InferenceDevice? serving) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["device"] = engine.DefaultDevice.Kind.ToString().ToLowerInvariant(),
            ["libtorchVersion"] = engine.LibtorchVersion,
            ["cudaAvailable"] = engine.CudaAvailable,
            ["cudaDeviceCount"] = engine.CudaDeviceCount,
            ["intraOpThreads"] = engine.IntraOpThreads,
        };
        if (roles.Worker) data["trainingDevice"] = engine.DefaultDevice.ToString();
        if (serving is not null) data["inferenceDevice"] = serving.Device.ToString();
        return Task.FromResult(HealthCheckResult.Healthy(
            $"libtorch {engine.LibtorchVersion} on {engine.DefaultDevice.Kind.ToString().ToLowerInvariant()}", data));
    }
}

/// <summary>
/// Ready when the job store answers and this process can write where its roles write: datasets and models (api),
/// checkpoints and models (worker). On a shared volume this catches a mount that is missing or read-only.
/// </summary>
public sealed class StorageHealthCheck(
    IOptions<StorageOptions> options, IDbContextFactory<RnnDbContext> contexts, StoreStatus store, ServiceRoles roles) : IHealthCheck
{
    private static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext check, CancellationToken cancellationToken = default)
    {
        var storage = options.Value;
        var data = new Dictionary<string, object>
        {
            ["roles"] = roles.ToString(),
            ["provider"] = storage.Provider.ToString().ToLowerInvariant(),
            ["dataDirectory"] = storage.FullDataDirectory,
        };
        foreach (var directory in WrittenDirectories(storage))
        {
            try
            {
                Directory.CreateDirectory(directory);
                var probe = Path.Combine(directory, $".ready-{Guid.NewGuid():N}");
                await File.WriteAllTextAsync(probe, "ok", cancellationToken);
                File.Delete(probe);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return HealthCheckResult.Unhealthy($"the storage folder {directory} is not writable: {e.Message}", e, data);
            }
        }
        if (!store.IsReady) return HealthCheckResult.Unhealthy($"the job store is not ready: {store.Problem ?? "starting"}", data: data);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DatabaseTimeout);
        try
        {
            await using var context = await contexts.CreateDbContextAsync(timeout.Token);
            if (!await context.Database.CanConnectAsync(timeout.Token))
                return HealthCheckResult.Unhealthy("the job store does not answer", data: data);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the job store did not answer within {DatabaseTimeout.TotalSeconds:0} s", data: data);
        }
        return HealthCheckResult.Healthy("the job store answers and the storage folders are writable", data);
    }

    private IEnumerable<string> WrittenDirectories(StorageOptions storage)
    {
        if (roles.Api) yield return storage.DatasetsDirectory;
        yield return storage.ModelsDirectory;
        if (roles.Worker) yield return storage.CheckpointsDirectory;
    }
}
