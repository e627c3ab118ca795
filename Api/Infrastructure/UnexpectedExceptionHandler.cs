using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using RnnService.Training.Torch;

namespace RnnService.Api.Infrastructure;

/// <summary>
/// The last line: expected failures are typed results at the endpoints; whatever reaches here is logged in
/// full and answered with a ProblemDetails whose detail reveals no internals.
/// </summary>
public sealed class UnexpectedExceptionHandler(IProblemDetailsService problems, ILogger<UnexpectedExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is BadHttpRequestException { InnerException: JsonException json })
        {
            // A body that is not the JSON the endpoint takes: name the field where reading stopped.
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return await problems.TryWriteAsync(new() { HttpContext = context, ProblemDetails = Problems.InvalidJsonDetails(json) });
        }

        if (exception is BadHttpRequestException badRequest)
        {
            // Kestrel's own rejections (body too large, malformed request): the client's doing.
            context.Response.StatusCode = badRequest.StatusCode;
            return await problems.TryWriteAsync(new()
            {
                HttpContext = context,
                ProblemDetails = { Status = badRequest.StatusCode, Title = "Bad request", Detail = badRequest.Message },
            });
        }

        var detail = exception is TorchEngineException
            ? "The tensor engine failed while handling this request; the details are in the service log."
            : "An unexpected error occurred; the details are in the service log.";
        logger.LogError(exception, "Unhandled exception for {Method} {Path}", context.Request.Method, context.Request.Path);
        context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        return await problems.TryWriteAsync(new()
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Internal server error",
                Detail = detail,
            },
        });
    }
}
