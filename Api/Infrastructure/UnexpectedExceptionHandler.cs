using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
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
            await problems.TryWriteAsync(new() { HttpContext = context, ProblemDetails = Problems.InvalidJsonDetails(json) });
            return true;
        }

        if (exception is BadHttpRequestException badRequest)
        {
            // Kestrel's own rejections (body too large, malformed request): the client's doing.
            await problems.WriteProblemAsync(context, badRequest.StatusCode, "Bad request", badRequest.Message);
            return true;
        }

        if (exception is InvalidOperationException && HasUnknownCharset(context.Request))
        {
            // A JSON body in an encoding .NET does not know ("charset=nope"): the client's doing.
            await problems.WriteProblemAsync(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"'{context.Request.ContentType}' names a character set this service does not know; send UTF-8 JSON.");
            return true;
        }

        if (exception is ServiceBusyException busy)
        {
            Telemetry.ServingMetrics.RecordRejection(busy.Reason, busy.StatusCode);
            context.Response.Headers.RetryAfter = busy.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await problems.WriteProblemAsync(context, busy.StatusCode, busy.Title, busy.Message);
            return true;
        }

        if (exception is TorchEngineException { Kind: EngineErrorKind.OutOfMemory })
        {
            // The request was within its budget, but the machine had too little free at that moment: a retry may succeed.
            logger.LogWarning(exception, "Out of memory for {Method} {Path}", context.Request.Method, context.Request.Path);
            context.Response.Headers.RetryAfter = "5";
            await problems.WriteProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "Service busy", exception.Message + "; retry later.");
            return true;
        }

        var detail = exception is TorchEngineException
            ? "The tensor engine failed while handling this request; the details are in the service log."
            : "An unexpected error occurred; the details are in the service log.";
        logger.LogError(exception, "Unhandled exception for {Method} {Path}", context.Request.Method, context.Request.Path);
        await problems.WriteProblemAsync(context, StatusCodes.Status500InternalServerError, "Internal server error", detail, exception);
        return true;
    }

    /// <summary>A request whose Content-Type names a character set .NET cannot decode (binding JSON then throws).</summary>
    private static bool HasUnknownCharset(HttpRequest request)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || type.Charset.Value is not { Length: > 0 } charset) return false;
        try
        {
            System.Text.Encoding.GetEncoding(charset.Trim('"'));
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
