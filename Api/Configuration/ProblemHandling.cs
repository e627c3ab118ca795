using RnnService.Api.Infrastructure;

namespace RnnService.Api.Configuration;

public static class ProblemHandling
{
    /// <summary>Every error is a ProblemDetails; unexpected exceptions are mapped in one place.</summary>
    public static IHostApplicationBuilder AddProblemHandling(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            // Routing itself answers a body of a content type no endpoint takes; say what was wrong with it.
            if (context.ProblemDetails is { Status: StatusCodes.Status415UnsupportedMediaType, Detail: null })
                context.ProblemDetails.Detail =
                    $"'{context.HttpContext.Request.ContentType ?? "no content type"}' is not a content type that " +
                    $"{context.HttpContext.Request.Method} {context.HttpContext.Request.Path} accepts; the OpenAPI document at /openapi/v1.json lists what it takes.";
        });
        builder.Services.AddExceptionHandler<UnexpectedExceptionHandler>();
        // Binding failures (a body that is not the JSON an endpoint takes, a query value of the wrong type) reach the
        // handler as exceptions, so that their ProblemDetails can name the field, in every environment.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return builder;
    }
}
