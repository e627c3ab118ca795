using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using RnnService.Domain.Validation;

namespace RnnService.Api.Infrastructure;

/// <summary>
/// Query parameters are read as strictly as bodies (<see cref="StrictJson"/>): a parameter the endpoint does not take is a
/// 400 naming it, with the one meant when it is near a known one (<c>?limt=10</c>: "Did you mean limit?"), instead of
/// being ignored while the client believes it applied. The parameters an endpoint takes are those the OpenAPI
/// document lists for it (ASP.NET Core binds them ignoring case, and so does this check).
/// </summary>
public static class StrictQuery
{
    public static IApplicationBuilder Use(IApplicationBuilder app)
    {
        var descriptions = app.ApplicationServices.GetRequiredService<IApiDescriptionGroupCollectionProvider>();
        // By endpoint name (every API endpoint has one), read once the endpoints are all mapped.
        var known = new Lazy<Dictionary<string, string[]>>(() => descriptions.ApiDescriptionGroups.Items
            .SelectMany(group => group.Items)
            .Select(description => (Name: NameOf(description.ActionDescriptor.EndpointMetadata), description.ParameterDescriptions))
            .Where(endpoint => endpoint.Name is not null)
            .GroupBy(endpoint => endpoint.Name!)
            .ToDictionary(group => group.Key, group => group.SelectMany(endpoint => endpoint.ParameterDescriptions)
                .Where(parameter => parameter.Source == BindingSource.Query).Select(parameter => parameter.Name).Distinct().ToArray()));
        return app.Use(async (http, next) =>
        {
            if (http.Request.Query.Count > 0 && http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is { } name
                && known.Value.TryGetValue(name, out var taken))
            {
                var unknown = http.Request.Query.Keys.Where(key => !taken.Contains(key, StringComparer.OrdinalIgnoreCase)).ToList();
                if (unknown.Count > 0)
                {
                    await Problems.Validation(unknown.Select(key => new ValidationError(key, Message(key, taken)))).ExecuteAsync(http);
                    return;
                }
            }
            await next(http);
        });
    }

    private static string? NameOf(IList<object> metadata) => metadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName;

    private static string Message(string key, string[] taken)
    {
        if (taken.Length == 0) return "is not a query parameter of this endpoint, which takes none.";
        var closest = StrictJson.Closest(key, taken);
        return closest is null
            ? $"is not a query parameter of this endpoint. It takes: {string.Join(", ", taken)}."
            : $"is not a query parameter of this endpoint. Did you mean {closest}?";
    }
}
