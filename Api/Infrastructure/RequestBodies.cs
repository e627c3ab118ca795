using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using RnnService.Training.Storage;

namespace RnnService.Api.Infrastructure;

/// <summary>
/// Reading request bodies within a byte limit, whatever Content-Length says (or does not say): a body over it is a 413,
/// an unreadable one a 400 naming the field.
/// </summary>
public static class RequestBodies
{
    /// <summary>
    /// A 413 when the declared length is already over <paramref name="limit"/> (the answer says <paramref name="rule"/>);
    /// otherwise caps what the server reads.
    /// </summary>
    public static ProblemHttpResult? Limit(HttpRequest request, long limit, string rule)
    {
        if (request.ContentLength > limit) return Problems.TooLarge($"the body is {request.ContentLength} bytes; {rule}.");
        var bodySize = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false }) bodySize.MaxRequestBodySize = limit + 1;
        return null;
    }

    /// <summary>A multipart form of at most <paramref name="limit"/> bytes; a broken one is a 400 on <paramref name="field"/>.</summary>
    public static async Task<(IFormCollection? Form, ValidationProblem? Invalid, ProblemHttpResult? Failed)> ReadFormAsync(
        HttpRequest request, long limit, string field, CancellationToken cancellationToken)
    {
        try
        {
            request.HttpContext.Features.Set<IFormFeature>(new FormFeature(request, new FormOptions { MultipartBodyLengthLimit = limit }));
            return (await request.ReadFormAsync(cancellationToken), null, null);
        }
        catch (InvalidDataException exception) when (exception.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            return (null, null, Problems.TooLarge($"the body is larger than the limit of {limit} bytes."));
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException && !cancellationToken.IsCancellationRequested)
        {
            return (null, Problems.Validation(field, $"the multipart body could not be read: {exception.Message}"), null);
        }
    }

    /// <summary>A JSON body of at most <paramref name="limit"/> bytes, read with the API's conventions.</summary>
    public static async Task<(T? Body, ValidationProblem? Invalid, ProblemHttpResult? Failed)> ReadJsonAsync<T>(
        HttpRequest request, long limit, CancellationToken cancellationToken) where T : class
    {
        try
        {
            await using var body = new LimitedReadStream(request.Body, limit);
            var value = await JsonSerializer.DeserializeAsync<T>(body, StoredJson.Options, cancellationToken);
            return value is null ? (null, Problems.Validation("body", "is null; send a JSON object."), null) : (value, null, null);
        }
        catch (LimitedReadStream.LimitExceededException)
        {
            return (null, null, Problems.TooLarge($"the body is larger than the limit of {limit} bytes."));
        }
        catch (JsonException exception)
        {
            return (null, Problems.InvalidJson(exception), null);
        }
    }
}
