using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace RnnService.Api.Security;

/// <summary>
/// The API key in the OpenAPI document: an <c>apiKey</c> scheme in the <c>X-Api-Key</c> header, required by each
/// operation that has scopes, whose description names them. Swagger UI shows its Authorize button for it.
/// </summary>
public static class ApiKeyDocumentation
{
    public static OpenApiOptions AddApiKeySecurity(this OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "Needed once the operator has configured keys (Auth:Keys); each key has scopes: " +
                              "predict, train, admin (admin includes the others).",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var requirement = context.Description.ActionDescriptor.EndpointMetadata.OfType<ScopeRequirement>().FirstOrDefault();
            if (requirement is null)
            {
                // Open to every caller (the probes): said explicitly, with an empty requirement.
                operation.Security = [new OpenApiSecurityRequirement()];
                return Task.CompletedTask;
            }
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, context.Document)] = [],
            });
            var scopes = string.Join(" or ", requirement.Scopes.Append(Scopes.Admin).Distinct());
            operation.Description = $"{operation.Description}{(operation.Description is null ? "" : " ")}Scope: {scopes}.".TrimStart();
            operation.Responses ??= new OpenApiResponses();
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No API key, or one the service does not know" });
            operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The key lacks the scope" });
            operation.Responses.TryAdd("429", new OpenApiResponse { Description = "Rate limit reached; see Retry-After" });
            return Task.CompletedTask;
        });
        return options;
    }
}
