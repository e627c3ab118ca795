namespace RnnService.Api.Infrastructure;

/// <summary>
/// A bounded queue is full: answered 503 with <c>Retry-After</c> instead of letting the queue grow without bound.
/// Nothing of the request was kept.
/// </summary>
public sealed class ServiceBusyException(string detail, int retryAfterSeconds) : Exception(detail)
{
    public int RetryAfterSeconds { get; } = retryAfterSeconds;
}
