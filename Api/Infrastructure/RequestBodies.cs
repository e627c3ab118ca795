using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
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

    /// <summary>The fields a form contract has (its properties, named as JSON names them): what <see cref="UnknownFormFields"/> accepts.</summary>
    public static string[] FormFieldsOf<TForm>() =>
        typeof(TForm).GetProperties().Select(property => StoredJson.Options.PropertyNamingPolicy!.ConvertName(property.Name)).ToArray();

    /// <summary>A 400 naming each field or file of <paramref name="form"/> that is not one of <paramref name="known"/>; null when there is none.</summary>
    public static ValidationProblem? UnknownFormFields(IFormCollection form, IReadOnlyCollection<string> known)
    {
        var unknown = StrictJson.UnknownNames(form.Keys.Concat(form.Files.Select(file => file.Name)).Distinct(), known);
        return unknown.Count == 0 ? null : Problems.Validation(unknown);
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

    /// <summary>
    /// A JSON body of at most <paramref name="limit"/> bytes, read with the API's conventions: a member the contract does not
    /// have is a 400 naming it (<see cref="StrictJson"/>). With an <c>Idempotency-Key</c>, the body's digest is kept for
    /// <see cref="IdempotencyKeys"/>.
    /// </summary>
    public static async Task<(T? Body, ValidationProblem? Invalid, ProblemHttpResult? Failed)> ReadJsonAsync<T>(
        HttpRequest request, long limit, CancellationToken cancellationToken) where T : class
    {
        ReadOnlyMemory<byte> bytes;
        try
        {
            var buffer = new MemoryStream(request.ContentLength is { } length and > 0 and < int.MaxValue ? (int)Math.Min(length, limit) : 0);
            await using (var body = new LimitedReadStream(request.Body, limit)) await body.CopyToAsync(buffer, cancellationToken);
            bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        }
        catch (LimitedReadStream.LimitExceededException)
        {
            return (null, null, Problems.TooLarge($"the body is larger than the limit of {limit} bytes."));
        }
        // Unknown members make the serializer throw (RequestOptions): a body that reads is known to have none.
        var contract = (JsonTypeInfo<T>)StoredJson.RequestOptions.GetTypeInfo(typeof(T));
        try
        {
            var value = JsonSerializer.Deserialize(bytes.Span, contract);
            if (value is null) return (null, Problems.Validation("body", "is null; send a JSON object."), null);
            IdempotencyKeys.Fingerprint(request, bytes.Span);
            return (value, null, null);
        }
        catch (JsonException exception)
        {
            var unknown = StrictJson.UnknownFieldsAndValues(bytes.Span, contract);
            return (null, unknown.Count > 0 ? Problems.Validation(unknown) : Problems.InvalidJson(exception), null);
        }
    }
}
