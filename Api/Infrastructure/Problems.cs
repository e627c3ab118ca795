using Microsoft.AspNetCore.Http.HttpResults;
using RnnService.Domain.Validation;

namespace RnnService.Api.Infrastructure;

/// <summary>The ProblemDetails answers the endpoints share.</summary>
public static class Problems
{
    public static ValidationProblem Validation(string field, string message) => Validation([new ValidationError(field, message)]);

    public static ValidationProblem Validation(IEnumerable<ValidationError> errors) =>
        TypedResults.ValidationProblem(
            errors.GroupBy(error => error.Field).ToDictionary(group => group.Key, group => group.Select(e => e.Message).ToArray()),
            title: "The request is not valid.",
            detail: string.Join(" ", errors.Select(error => $"{error.Field}: {error.Message}").Take(5)));

    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large");

    public static ProblemHttpResult UnsupportedMediaType(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
}
