using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RnnService.Api.Security;
using RnnService.Training.Storage;

namespace RnnService.Api.Infrastructure;

/// <summary>
/// <c>Idempotency-Key</c> on the POSTs that create something. The endpoint reads and checks the request, then
/// <see cref="BeginAsync"/> claims the key in the store (one row per client and key, so one replica wins, whichever gets the
/// retries); the answer it then gives is kept with the key (<see cref="Use"/>) and every repeat with the same
/// key and body gets it back without creating anything. The same key with another body is a 422; a repeat while the first
/// is still being handled waits for its answer. Only successful answers are kept: a failed request may be retried with
/// its key. Keys are kept for <see cref="Retention"/>.
/// </summary>
public sealed class IdempotencyKeys(IDbContextFactory<RnnDbContext> contexts, TimeProvider time, ILogger<IdempotencyKeys> logger)
{
    public const string Header = "Idempotency-Key";

    /// <summary>The header on a replayed answer, as Stripe sends it.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>How long a repeat waits for the first request's answer before it is told to retry (409).</summary>
    private static readonly TimeSpan WaitForFirst = TimeSpan.FromSeconds(20);

    /// <summary>A claim older than this with no answer belongs to a process that died with it; the key is free again.</summary>
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(2);

    private const int MaxKeyLength = 255;
    private const string FingerprintItem = "rnnservice.idempotency.fingerprint", ClaimItem = "rnnservice.idempotency.claim";
    private static long lastSweep;

    /// <summary>Keeps the digest of a JSON body for <see cref="BeginAsync"/>, when the request carries a key.</summary>
    public static void Fingerprint(HttpRequest request, ReadOnlySpan<byte> body)
    {
        if (!request.Headers.ContainsKey(Header)) return;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}{request.QueryString}\n"));
        hash.AppendData(body);
        request.HttpContext.Items[FingerprintItem] = Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// Keeps the digest of a form for <see cref="BeginAsync"/>: its fields and its files' names and contents, not the bytes
    /// of the multipart body (whose boundary a client draws anew for every try).
    /// </summary>
    public static async Task FingerprintAsync(HttpRequest request, IFormCollection form, CancellationToken cancellationToken)
    {
        if (!request.Headers.ContainsKey(Header)) return;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}{request.QueryString}\n"));
        foreach (var (name, values) in form.OrderBy(field => field.Key, StringComparer.Ordinal))
            hash.AppendData(Encoding.UTF8.GetBytes($"field {name.Length}:{name} {values.Count}\n{string.Join("\n", values.Select(v => $"{v?.Length}:{v}"))}\n"));
        var buffer = new byte[81920];
        foreach (var file in form.Files.OrderBy(file => file.Name, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"file {file.Name.Length}:{file.Name} {file.FileName.Length}:{file.FileName} {file.Length}\n"));
            await using var stream = file.OpenReadStream();
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0) hash.AppendData(buffer, 0, read);
        }
        request.HttpContext.Items[FingerprintItem] = Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// Null when the request has no key, or when it has claimed its key (go on and create; the answer is kept). Otherwise
    /// the answer to give instead: the first request's answer again, a 422 for the same key with another body, or a 409
    /// when the first request has not answered in time.
    /// </summary>
    public async Task<IdempotentAnswer?> BeginAsync(HttpContext http, CancellationToken cancellationToken)
    {
        if (!http.Request.Headers.TryGetValue(Header, out var values)) return null;
        var key = values.ToString();
        if (http.Items[FingerprintItem] is not string fingerprint)
            throw new InvalidOperationException($"{http.Request.Path} did not fingerprint its body before claiming its idempotency key.");
        var client = ClientIdentity.Of(http);
        await SweepAsync(cancellationToken);

        var deadline = time.GetUtcNow() + WaitForFirst;
        while (true)
        {
            var now = time.GetUtcNow().UtcDateTime;
            await using (var context = await contexts.CreateDbContextAsync(cancellationToken))
            {
                context.IdempotencyKeys.Add(new IdempotencyKeyRecord { ClientId = client, Key = key, Fingerprint = fingerprint, CreatedAt = now });
                try
                {
                    await context.SaveChangesAsync(cancellationToken);
                    http.Items[ClaimItem] = (client, key);
                    return null;
                }
                catch (DbUpdateException)
                {
                    // Someone holds the key (or held it): look at what they left.
                }
            }

            await using (var context = await contexts.CreateDbContextAsync(cancellationToken))
            {
                var held = await context.IdempotencyKeys.AsNoTracking().SingleOrDefaultAsync(k => k.ClientId == client && k.Key == key, cancellationToken);
                if (held is null) continue;
                var expired = held.CreatedAt < now - Retention || held.Status is null && held.CreatedAt < now - AbandonedAfter;
                if (expired)
                {
                    await context.IdempotencyKeys.Where(k => k.ClientId == client && k.Key == key && k.CreatedAt == held.CreatedAt)
                        .ExecuteDeleteAsync(cancellationToken);
                    continue;
                }
                if (held.Fingerprint != fingerprint)
                    return IdempotentAnswer.Problem(StatusCodes.Status422UnprocessableEntity, "Idempotency key reused",
                        $"the {Header} '{key}' was used {held.CreatedAt:O} for another request (another body or endpoint); send a new key for a new request.");
                if (held.Status is { } status) return new IdempotentAnswer(status, held.ContentType, held.Location, held.Body);
            }
            if (time.GetUtcNow() >= deadline)
                return IdempotentAnswer.Problem(StatusCodes.Status409Conflict, "Request in progress",
                    $"a request with the {Header} '{key}' is still being handled; retry shortly to get its answer.", retryAfterSeconds: 1);
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
        }
    }

    /// <summary>
    /// Checks the key's form before anything runs, and keeps the answer of a request that claimed its key. Only on the
    /// endpoints that take a key: elsewhere (<c>/predict</c> above all) the header is ignored and the answer is not copied.
    /// </summary>
    public static IApplicationBuilder Use(IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (!HttpMethods.IsPost(http.Request.Method) || !http.Request.Headers.TryGetValue(Header, out var values)
            || http.GetEndpoint()?.Metadata.GetMetadata<IdempotentEndpoint>() is null)
        {
            await next(http);
            return;
        }
        var key = values.ToString();
        if (values.Count != 1 || key.Length is 0 or > MaxKeyLength || key.Any(c => c is < '!' or > '~'))
        {
            await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteProblemAsync(http, StatusCodes.Status400BadRequest,
                "The request is not valid.", $"{Header}: send one key of 1 to {MaxKeyLength} visible ASCII characters (a UUID is usual).");
            return;
        }

        var original = http.Response.Body;
        using var copy = new MemoryStream();
        http.Response.Body = new TeeStream(original, copy);
        var kept = false;
        try
        {
            await next(http);
            if (http.Items[ClaimItem] is (string client, string claimed) && http.Response.StatusCode is >= 200 and < 300)
            {
                var keys = http.RequestServices.GetRequiredService<IdempotencyKeys>();
                kept = await keys.CompleteAsync(client, claimed, http.Response, Encoding.UTF8.GetString(copy.GetBuffer(), 0, (int)copy.Length));
            }
        }
        finally
        {
            http.Response.Body = original;
            if (!kept && http.Items[ClaimItem] is (string client, string claimed))
                await http.RequestServices.GetRequiredService<IdempotencyKeys>().ReleaseAsync(client, claimed);
        }
    });

    private async Task<bool> CompleteAsync(string client, string key, HttpResponse response, string body)
    {
        await using var context = await contexts.CreateDbContextAsync(CancellationToken.None);
        var location = response.Headers.Location.ToString();
        var updated = await context.IdempotencyKeys.Where(k => k.ClientId == client && k.Key == key && k.Status == null)
            .ExecuteUpdateAsync(set => set
                .SetProperty(k => k.Status, response.StatusCode)
                .SetProperty(k => k.ContentType, response.ContentType)
                .SetProperty(k => k.Location, location.Length == 0 ? null : location)
                .SetProperty(k => k.Body, body)
                .SetProperty(k => k.CompletedAt, time.GetUtcNow().UtcDateTime), CancellationToken.None);
        return updated == 1;
    }

    /// <summary>Frees the key of a request that did not succeed, so that a retry with it runs.</summary>
    private async Task ReleaseAsync(string client, string key)
    {
        try
        {
            await using var context = await contexts.CreateDbContextAsync(CancellationToken.None);
            await context.IdempotencyKeys.Where(k => k.ClientId == client && k.Key == key && k.Status == null).ExecuteDeleteAsync(CancellationToken.None);
        }
        catch (Exception exception) when (exception is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
        {
            // The claim stays until it is abandoned (AbandonedAfter); a retry waits that long at most.
            logger.LogWarning(exception, "Could not release the idempotency key {Key}", key);
        }
    }

    /// <summary>Deletes keys past their retention, at most once a minute per process.</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var last = Interlocked.Read(ref lastSweep);
        if (now.UtcTicks - last < TimeSpan.TicksPerMinute || Interlocked.CompareExchange(ref lastSweep, now.UtcTicks, last) != last) return;
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var cutoff = now.UtcDateTime - Retention;
        await context.IdempotencyKeys.Where(k => k.CreatedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>Writes to the response and keeps a copy of what was written.</summary>
    private sealed class TeeStream(Stream response, MemoryStream copy) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            copy.Write(buffer, offset, count);
            response.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            copy.Write(buffer.Span);
            await response.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => response.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => response.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

/// <summary>Marks an endpoint that takes an <c>Idempotency-Key</c>: the OpenAPI document lists the header for it.</summary>
public sealed class IdempotentEndpoint
{
    public const string Description =
        "Makes the request safe to retry: a repeat with the same key and body (within 24 hours, from the same client) gets " +
        "the first answer, with `Idempotent-Replayed: true`, and creates nothing; the same key with another body is a 422. " +
        "1 to 255 visible ASCII characters; a UUID is usual.";
}

public static class IdempotentEndpoints
{
    /// <summary>Says in the OpenAPI document that the endpoint takes an <c>Idempotency-Key</c> (it calls <see cref="IdempotencyKeys.BeginAsync"/>).</summary>
    public static TBuilder Idempotent<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new IdempotentEndpoint());
}

/// <summary>What a request with a known idempotency key gets instead of running: the first answer again, or a problem.</summary>
public sealed class IdempotentAnswer(int status, string? contentType, string? location, string? body, int? retryAfterSeconds = null) : IResult
{
    public int StatusCode => status;

    public static IdempotentAnswer Problem(int status, string title, string detail, int? retryAfterSeconds = null) =>
        new(status, "application/problem+json", null,
            StoredJson.Write(new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail }), retryAfterSeconds);

    public async Task ExecuteAsync(HttpContext http)
    {
        http.Response.StatusCode = status;
        if (status is >= 200 and < 300) http.Response.Headers[IdempotencyKeys.ReplayedHeader] = "true";
        if (location is not null) http.Response.Headers.Location = location;
        if (retryAfterSeconds is { } seconds) http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (body is null) return;
        http.Response.ContentType = contentType ?? "application/json";
        await http.Response.WriteAsync(body, http.RequestAborted);
    }
}
