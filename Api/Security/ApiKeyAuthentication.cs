using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using RnnService.Api.Infrastructure;

namespace RnnService.Api.Security;

/// <summary>
/// Reads the key from <c>X-Api-Key</c> (or <c>Authorization: Bearer</c>) and answers 401 and 403 as ProblemDetails:
/// 401 when a key is needed and none or an unknown one came, 403 when the key lacks the endpoint's scope.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    public const string ScopeClaim = "scope";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!keys.Enabled) return Task.FromResult(AuthenticateResult.NoResult());
        var presented = Presented(Request);
        if (presented is null) return Task.FromResult(AuthenticateResult.NoResult());
        var key = keys.Find(presented);
        if (key is null) return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
        var identity = new ClaimsIdentity(
            key.Scopes.Select(scope => new Claim(ScopeClaim, scope)).Prepend(new Claim(ClaimTypes.Name, key.Name)), SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var presented = Presented(Request) is not null;
        Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{HeaderName}\", Bearer";
        await problems.WriteProblemAsync(Context, StatusCodes.Status401Unauthorized, "Unauthorized", presented
            ? $"The API key in {HeaderName} (or Authorization: Bearer) is not one this service knows."
            : $"This endpoint needs an API key: send it in the {HeaderName} header (or Authorization: Bearer).");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var needed = Context.GetEndpoint()?.Metadata.GetMetadata<ScopeRequirement>()?.Scopes ?? [];
        await problems.WriteProblemAsync(Context, StatusCodes.Status403Forbidden, "Forbidden",
            $"The API key '{Context.User.Identity?.Name}' does not have the scope this endpoint needs: " +
            $"{string.Join(" or ", needed.Append(Scopes.Admin).Distinct())}.");
    }

    private static string? Presented(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var header) && !string.IsNullOrEmpty(header.ToString()))
            return header.ToString();
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && authorization.Length > 7
            ? authorization[7..].Trim()
            : null;
    }
}

/// <summary>An endpoint's scopes: any one of them, or <c>admin</c>, lets a key through; with no keys configured, anyone.</summary>
public sealed class ScopeRequirement(params string[] scopes) : IAuthorizationRequirement
{
    public string[] Scopes { get; } = scopes;
}

public sealed class ScopeAuthorizationHandler(ApiKeyStore keys) : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        var held = context.User.FindAll(ApiKeyAuthenticationHandler.ScopeClaim).Select(claim => claim.Value).ToHashSet();
        if (!keys.Enabled || held.Contains(Scopes.Admin) || requirement.Scopes.Any(held.Contains)) context.Succeed(requirement);
        return Task.CompletedTask;
    }
}

public static class ScopeEndpoints
{
    /// <summary>Only keys with one of <paramref name="scopes"/> (or admin) reach the endpoint once keys are configured.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, params string[] scopes)
        where TBuilder : IEndpointConventionBuilder
    {
        var requirement = new ScopeRequirement(scopes);
        return builder
            .RequireAuthorization(policy => policy.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).AddRequirements(requirement))
            .WithMetadata(requirement);
    }
}
