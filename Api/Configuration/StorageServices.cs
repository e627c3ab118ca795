using Microsoft.AspNetCore.Http.Json;
using RnnService.Api.Datasets;
using RnnService.Api.Health;
using RnnService.Api.Infrastructure;
using RnnService.Training.Jobs;
using RnnService.Training.Storage;

namespace RnnService.Api.Configuration;

public static class StorageServices
{
    /// <summary>
    /// The job store, datasets, the registry, (in the api role) idempotency keys and (in the worker role) the training
    /// worker, with the API's JSON conventions.
    /// </summary>
    public static IHostApplicationBuilder AddStorageServices(this IHostApplicationBuilder builder, ServiceRoles roles)
    {
        builder.Services.AddTrainingServices(roles);
        builder.Services.AddOptions<DatasetOptions>()
            .BindConfiguration(DatasetOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        if (roles.Api) builder.Services.AddSingleton<IdempotencyKeys>();
        builder.Services.Configure<JsonOptions>(options => StoredJson.Configure(options.SerializerOptions));
        builder.Services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: ["ready"]);
        return builder;
    }
}
