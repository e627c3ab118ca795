namespace RnnService.Api.Infrastructure;

/// <summary>
/// A bounded queue, or a client's share of it, is full: answered with <c>Retry-After</c> (503 when the service is busy,
/// 429 when the client is over its own limit) instead of letting the queue grow without bound. Nothing of the request
/// was kept.
/// </summary>
public sealed class ServiceBusyException(
    string detail, int retryAfterSeconds, int statusCode = StatusCodes.Status503ServiceUnavailable, string reason = "queue_full")
    : Exception(detail)
{
    /// <summary>What was full, as the rejections metric names it: queue_full, client_share or model_queue_full.</summary>
    public string Reason { get; } = reason;

    public int RetryAfterSeconds { get; } = retryAfterSeconds;

    public int StatusCode { get; } = statusCode;

    public string Title => StatusCode == StatusCodes.Status429TooManyRequests ? "Too many requests" : "Service busy";
}
