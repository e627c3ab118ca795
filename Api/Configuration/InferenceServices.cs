using Microsoft.Extensions.Options;
using RnnService.Api.Inference;
using RnnService.Api.Models;
using RnnService.Domain.Jobs;
using RnnService.Training.Torch;

namespace RnnService.Api.Configuration;

public static class InferenceServices
{
    /// <summary>Serving: the model cache, dynamic batching, and the limits of predict requests.</summary>
    public static IHostApplicationBuilder AddInferenceServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.Section)
            .ValidateDataAnnotations()
            .Validate(options => System.ComponentModel.DataAnnotations.Validator.TryValidateObject(
                options.Batching, new(options.Batching), null, validateAllProperties: true), "Inference:Batching is not valid.")
            .Validate<EngineInfo>((options, engine) => options.Device != DeviceChoice.Cuda || engine.CudaAvailable, InferenceDevice.NoCuda)
            .ValidateOnStart();
        builder.Services.AddOptions<ModelImportOptions>()
            .BindConfiguration(ModelImportOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(services => InferenceDevice.Resolve(
            services.GetRequiredService<IOptions<InferenceOptions>>().Value.Device, services.GetRequiredService<EngineInfo>()));
        builder.Services.AddSingleton<InferenceStatistics>();
        builder.Services.AddSingleton<ModelCache>();
        return builder;
    }
}
