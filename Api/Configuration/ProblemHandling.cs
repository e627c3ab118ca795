using RnnService.Api.Infrastructure;

namespace RnnService.Api.Configuration;

public static class ProblemHandling
{
    /// <summary>Every error is a ProblemDetails; unexpected exceptions are mapped in one place.</summary>
    public static IHostApplicationBuilder AddProblemHandling(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<UnexpectedExceptionHandler>();
        return builder;
    }
}
