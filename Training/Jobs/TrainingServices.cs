using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RnnService.Training.Registry;
using RnnService.Training.Storage;

namespace RnnService.Training.Jobs;

public static class TrainingServiceRegistration
{
    /// <summary>The job store, the queue, the registry, and (when <c>Worker:Enabled</c>) this process's training worker.</summary>
    public static IServiceCollection AddTrainingServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddJobStore();
        services.AddOptions<WorkerOptions>()
            .BindConfiguration(WorkerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<JobQueue>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<JobSignals>();
        if (configuration.GetValue(WorkerOptions.Section + ":" + nameof(WorkerOptions.Enabled), true))
            services.AddHostedService<TrainingWorker>();
        return services;
    }
}
