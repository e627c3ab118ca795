using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace RnnService.Api.Configuration;

/// <summary>
/// The answers' examples in the OpenAPI document: real answers of a run of the service (a dataset uploaded, a model
/// trained, tuned, aliased, predicted with; <c>ResponseExamplesTests</c> records them into
/// <c>response-examples.json</c> with <c>RNNSERVICE_RECORD_EXAMPLES=1</c>), keyed by the answer's schema, so that every
/// operation answering with that schema shows one. Long lists are cut to their first items.
/// </summary>
public static class ResponseExamples
{
    public const string ResourceName = "RnnService.Api.Configuration.response-examples.json";

    private static readonly Lazy<JsonObject> Recorded = new(() =>
    {
        using var stream = typeof(ResponseExamples).Assembly.GetManifestResourceStream(ResourceName);
        return stream is null ? [] : JsonNode.Parse(stream)!.AsObject();
    });

    public static OpenApiOptions AddResponseExamples(this OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            foreach (var item in document.Paths?.Values ?? Enumerable.Empty<IOpenApiPathItem>())
                foreach (var operation in item.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
                    foreach (var (code, response) in operation.Responses ?? new OpenApiResponses())
                    {
                        if (!code.StartsWith('2') || response.Content?.TryGetValue("application/json", out var media) != true) continue;
                        if (media!.Example is null && media.Schema is OpenApiSchemaReference { Reference.Id: { } id } && Recorded.Value[id] is { } example)
                            media.Example = example.DeepClone();
                    }
            return Task.CompletedTask;
        });
        return options;
    }
}
