using RnnService.Api.Infrastructure;

namespace RnnService.Api.Configuration;

public static class ProblemHandling
{
    /// <summary>Every error is a ProblemDetails; unexpected exceptions are mapped in one place.</summary>
    public static IHostApplicationBuilder AddProblemHandling(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<UnexpectedExceptionHandler>();
        // Binding failures (a body that is not the JSON an endpoint takes, a query value of the wrong type) reach the
        // handler as exceptions, so that their ProblemDetails can name the field, in every environment.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return builder;
    }
}
