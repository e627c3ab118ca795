using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RnnService.Api.Health;
using RnnService.Api.Inference;
using RnnService.Training.Engine;
using RnnService.Training.Jobs;
using RnnService.Training.Torch;

namespace RnnService.Api.Configuration;

/// <summary>Process-wide settings of the libtorch engine.</summary>
public sealed class EngineOptions
{
    public const string Section = "Engine";

    /// <summary>Threads one libtorch operation may use; 0 keeps libtorch's default (one per core).</summary>
    [Range(0, 1024)]
    public int IntraOpThreads { get; set; }

    /// <summary>Treat denormal floats as zero: much faster on x86 CPUs, invisible in these models.</summary>
    public bool FlushDenormals { get; set; } = true;

    /// <summary>
    /// Free memory, in MiB, that the process keeps for libtorch's next allocations instead of handing it back to the
    /// system (glibc), every block taken from the heap; 0 leaves malloc's defaults. Training allocates and frees the
    /// same large tensors every step. The worker hands it back when a job ends.
    /// </summary>
    [Range(0, 2047)]
    public int KeepFreedMemoryMiB { get; set; } = TorchEngine.DefaultKeepFreedMemoryMiB;

    /// <summary>
    /// TensorFloat-32 on GPUs that have it (Ampere and later): faster training and inference with about three
    /// significant digits. Off by default, so that a model's outputs on the GPU and the CPU agree within 1e-4.
    /// </summary>
    public bool AllowTf32 { get; set; }

    /// <summary>
    /// oneDNN's CPU kernels where libtorch picks them (its LSTM for inference). Off by default: libtorch's own kernels
    /// are the ones checked against PyTorch, and Debian's libtorch 2.6 computes wrong LSTM outputs through oneDNN.
    /// </summary>
    public bool OneDnn { get; set; }
}

public static class EngineServices
{
    public static IHostApplicationBuilder AddEngineServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<EngineOptions>()
            .BindConfiguration(EngineOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // Loading the engine is the first thing the process does with it: a missing libtorch fails the start, loudly.
        builder.Services.AddSingleton(services => ConfigureEngine(services.GetRequiredService<IOptions<EngineOptions>>().Value));
        // Training, serving and imports build their networks through the engine's interface, set up before any is built.
        builder.Services.AddSingleton<ISequenceEngine>(services =>
        {
            services.GetRequiredService<EngineInfo>();
            return TorchSequenceEngine.Instance;
        });
        builder.Services.AddHostedService<EngineWarmup>();
        // The served models' device is known only where the api role registered serving.
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            "engine",
            services => new EngineHealthCheck(
                services.GetRequiredService<EngineInfo>(), services.GetRequiredService<ServiceRoles>(), services.GetService<InferenceDevice>()),
            failureStatus: null,
            tags: ["ready"]));
        return builder;
    }

    private static EngineInfo ConfigureEngine(EngineOptions options)
    {
        if (options.IntraOpThreads > 0) TorchEngine.SetIntraOpThreads(options.IntraOpThreads);
        TorchEngine.SetFlushDenormals(options.FlushDenormals);
        TorchEngine.SetAllowTf32(options.AllowTf32);
        TorchEngine.SetOneDnn(options.OneDnn);
        if (options.KeepFreedMemoryMiB > 0) TorchEngine.KeepFreedMemory(options.KeepFreedMemoryMiB);
        return TorchEngine.Query();
    }

    /// <summary>Loads and configures the engine at start-up rather than on the first request.</summary>
    private sealed class EngineWarmup(EngineInfo engine, ILogger<EngineWarmup> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            logger.LogInformation(
                "libtorch {Version} loaded: device {Device}, {Threads} intra-op threads, {CudaDevices} CUDA devices",
                engine.LibtorchVersion, engine.DefaultDevice, engine.IntraOpThreads, engine.CudaDeviceCount);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
