using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using RnnService.Domain.Validation;

namespace RnnService.Api.Infrastructure;

/// <summary>The ProblemDetails answers the endpoints share.</summary>
public static class Problems
{
    /// <summary>
    /// Sets <paramref name="status"/> and writes a ProblemDetails, for the places outside endpoints (authentication,
    /// rate limiting, the exception handler). A client that accepts no JSON gets the status and headers alone.
    /// </summary>
    public static async Task WriteProblemAsync(
        this IProblemDetailsService problems, HttpContext context, int status, string title, string detail, Exception? exception = null)
    {
        context.Response.StatusCode = status;
        await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }

    public static ValidationProblem Validation(string field, string message) => Validation([new ValidationError(field, message)]);

    public static ValidationProblem Validation(IEnumerable<ValidationError> errors) =>
        TypedResults.ValidationProblem(
            errors.GroupBy(error => error.Field).ToDictionary(group => group.Key, group => group.Select(e => e.Message).ToArray()),
            title: "The request is not valid.",
            detail: string.Join(" ", errors.Select(error => $"{error.Field}: {error.Message}").Take(5)));

    /// <summary>A body that is not the JSON an endpoint takes: names the field where reading stopped.</summary>
    public static ValidationProblem InvalidJson(JsonException exception)
    {
        var details = InvalidJsonDetails(exception);
        return TypedResults.ValidationProblem(details.Errors, details.Detail, title: details.Title);
    }

    /// <summary>What <see cref="InvalidJson"/> answers, for the places that write ProblemDetails themselves.</summary>
    public static HttpValidationProblemDetails InvalidJsonDetails(JsonException exception)
    {
        var (field, message) = DescribeJsonError(exception);
        return new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request body is not valid.",
            Detail = $"{field}: {message} ({exception.Message.Split(". ")[0]})",
        };
    }

    /// <summary>The field path a JSON error happened at (<c>body</c> for the whole document) and what is wrong there.</summary>
    public static (string Field, string Message) DescribeJsonError(JsonException exception)
    {
        var field = string.IsNullOrEmpty(exception.Path) || exception.Path == "$" ? "body" : exception.Path.TrimStart('$', '.');
        // The reader's own errors (a broken document, a bare NaN) carry a position; a wrong type does not.
        var broken = exception.Path is null || exception.BytePositionInLine is not null && exception.Message.Contains("invalid", StringComparison.Ordinal);
        var hint = exception.Message.StartsWith("'N'", StringComparison.Ordinal) || exception.Message.StartsWith("'I'", StringComparison.Ordinal)
            ? " NaN and Infinity are not JSON numbers, and values must be finite."
            : "";
        var message = broken
            ? $"is not valid JSON (line {exception.LineNumber + 1}, byte {exception.BytePositionInLine + 1}).{hint}"
            : "has a value of the wrong type or format.";
        return (field, message);
    }

    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large");

    public static ProblemHttpResult UnsupportedMediaType(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
}
