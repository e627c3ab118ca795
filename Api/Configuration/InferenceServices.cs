using RnnService.Api.Inference;
using RnnService.Api.Models;

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
            .ValidateOnStart();
        builder.Services.AddOptions<ModelImportOptions>()
            .BindConfiguration(ModelImportOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<InferenceStatistics>();
        builder.Services.AddSingleton<ModelCache>();
        return builder;
    }
}
