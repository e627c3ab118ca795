using Microsoft.Extensions.DependencyInjection;
using RnnService.Training.Registry;
using RnnService.Training.Storage;
using RnnService.Training.Tuning;

namespace RnnService.Training.Jobs;

public static class TrainingServiceRegistration
{
    /// <summary>The job store, the queue, the registry, and (in the worker role) this process's training worker and tuning coordinator.</summary>
    public static IServiceCollection AddTrainingServices(this IServiceCollection services, ServiceRoles roles)
    {
        services.AddSingleton(roles);
        services.AddJobStore();
        services.AddOptions<WorkerOptions>()
            .BindConfiguration(WorkerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<JobsOptions>()
            .BindConfiguration(JobsOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<JobQueue>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<JobSignals>();
        if (roles.Worker)
        {
            services.AddHostedService<TrainingWorker>();
            services.AddHostedService<TuningCoordinator>();
        }
        return services;
    }
}
