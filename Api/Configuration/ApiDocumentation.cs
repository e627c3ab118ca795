using Microsoft.OpenApi;
using RnnService.Api.Infrastructure;
using RnnService.Api.Security;

namespace RnnService.Api.Configuration;

public static class ApiDocumentation
{
    public const string DocumentPath = "/openapi/v1.json";

    private static readonly Dictionary<string, string> TagDescriptions = new()
    {
        ["Health"] = "Liveness and readiness, for orchestrators; never rate limited, never behind a key.",
        ["Datasets"] = "Time series (CSV), labelled sequences, texts and token lists (JSON lines): uploaded, checked in full, summarised.",
        ["Training jobs"] = "Background training on the workers' queue: progress, events, cancellation, resumption after a crash.",
        ["Tuning jobs"] = "Hyperparameter searches whose trials are training jobs; the best trial is registered.",
        ["Models"] = "The registry: numbered versions, aliases, PyTorch weights in and out, evaluations, the state explorer's matches.",
        ["Predict"] = "Predictions for sequences of any length, batched on the server.",
        ["Prediction jobs"] = "Predictions over a stored dataset, run on the workers; results as CSV or JSON lines.",
    };

    private static bool MayBeNull(IOpenApiSchema property) =>
        property.Type?.HasFlag(JsonSchemaType.Null) == true || property.OneOf?.Any(MayBeNull) == true;

    public static IHostApplicationBuilder AddApiDocumentation(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi("v1", options =>
        {
            // Sequences are written in place, not as a shared schema: a nullable reference becomes oneOf [null, $ref], which
            // client generators (Kiota) turn into a wrapper they cannot write; in place, a list of lists is untyped JSON.
            options.CreateSchemaReferenceId = type => type.Type == typeof(Domain.Predictions.SequenceInputs)
                ? null : Microsoft.AspNetCore.OpenApi.OpenApiOptions.CreateDefaultSchemaReferenceId(type);
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "RnnService";
                document.Info.Version = "v1";
                document.Info.Description =
                    "Trains LSTM and GRU sequence models as background jobs and serves their predictions.";
                // The server the document was asked of, without the trailing slash that linters refuse.
                foreach (var server in document.Servers ?? []) server.Url = server.Url?.TrimEnd('/');
                foreach (var tag in document.Tags ?? new HashSet<Microsoft.OpenApi.OpenApiTag>())
                    tag.Description ??= TagDescriptions.GetValueOrDefault(tag.Name ?? "");
                return Task.CompletedTask;
            });
            // Bodies are read strictly (StrictJson): a member a contract does not have is a 400, and the schemas say so.
            options.AddSchemaTransformer((schema, context, _) =>
            {
                if (schema.Type?.HasFlag(Microsoft.OpenApi.JsonSchemaType.Object) == true && schema.Properties is { Count: > 0 } && schema.AdditionalProperties is null)
                    schema.AdditionalPropertiesAllowed = false;
                return Task.CompletedTask;
            });
            // Answers leave out what is null (StoredJson: WhenWritingNull), so a property that may be null is not required:
            // a client validating answers against the document would otherwise refuse every job that has not ended. (In the
            // finished document: a nullable reference becomes oneOf [null, $ref] only once the schemas are components.)
            options.AddDocumentTransformer((document, _, _) =>
            {
                foreach (var schema in document.Components?.Schemas?.Values ?? Enumerable.Empty<IOpenApiSchema>())
                    if (schema is OpenApiSchema { Required: { Count: > 0 } required, Properties: { } properties })
                        foreach (var name in required.Where(name => properties.TryGetValue(name, out var property) && MayBeNull(property)).ToList())
                            required.Remove(name);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                if (!context.Description.ActionDescriptor.EndpointMetadata.OfType<IdempotentEndpoint>().Any()) return Task.CompletedTask;
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = IdempotencyKeys.Header, In = ParameterLocation.Header, Required = false, Description = IdempotentEndpoint.Description,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 255 },
                });
                return Task.CompletedTask;
            });
            options.AddRequestExamples();
            options.AddResponseExamples();
            options.AddApiKeySecurity();
        });
        return builder;
    }

    /// <summary>The OpenAPI document at /openapi/v1.json and Swagger UI over it at /swagger.</summary>
    public static WebApplication MapApiDocumentation(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        app.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint(DocumentPath, "RnnService v1");
            options.RoutePrefix = "swagger";
            options.DocumentTitle = "RnnService API";
            options.EnablePersistAuthorization();
        });
        return app;
    }
}
