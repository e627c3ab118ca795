using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;

namespace RnnService.Client;

/// <summary>Makes a <see cref="RnnServiceClient"/> for a service address, with its API key when the service asks for one.</summary>
public static class RnnServiceClients
{
    /// <summary>
    /// A client over <paramref name="http"/> (its <see cref="HttpClient.BaseAddress"/> is the service's address), sending
    /// <paramref name="apiKey"/> as <c>X-Api-Key</c> when given. The caller keeps <paramref name="http"/>.
    /// </summary>
    public static RnnServiceClient Create(HttpClient http, string? apiKey = null)
    {
        ArgumentNullException.ThrowIfNull(http.BaseAddress, nameof(http.BaseAddress));
        IAuthenticationProvider authentication = apiKey is { Length: > 0 } ? new ApiKey(apiKey) : new AnonymousAuthenticationProvider();
        var adapter = new HttpClientRequestAdapter(authentication, httpClient: http)
        {
            BaseUrl = http.BaseAddress.ToString().TrimEnd('/'),
        };
        return new RnnServiceClient(adapter);
    }

    /// <summary>
    /// The key in <c>X-Api-Key</c> on every request. (Kiota's own ApiKeyAuthenticationProvider refuses plain http, which a
    /// service on loopback or behind a TLS-terminating proxy is.)
    /// </summary>
    private sealed class ApiKey(string key) : IAuthenticationProvider
    {
        public Task AuthenticateRequestAsync(
            RequestInformation request, Dictionary<string, object>? additionalAuthenticationContext = null, CancellationToken cancellationToken = default)
        {
            request.Headers.TryAdd("X-Api-Key", key);
            return Task.CompletedTask;
        }
    }
}
