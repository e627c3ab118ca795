using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using RnnService.Api.Infrastructure;
using RnnService.Api.Security;

namespace RnnService.Api.Configuration;

/// <summary>The <c>RateLimits</c> section: a token bucket per API key (per client address while no keys are configured).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Requests a key may make per second, sustained; 0 turns rate limiting off.</summary>
    [Range(0, 1_000_000)]
    public int PermitsPerSecond { get; set; } = 1000;

    /// <summary>Requests a key may make at once after a quiet spell (the bucket's size); at least PermitsPerSecond.</summary>
    [Range(1, 10_000_000)]
    public int Burst { get; set; } = 2000;
}

public static class SecurityServices
{
    /// <summary>API keys with scopes (Auth:Keys), and rate limits per key (RateLimits).</summary>
    public static IHostApplicationBuilder AddSecurityServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidation>();
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, ScopeAuthorizationHandler>();
        builder.Services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(Partition);
            options.OnRejected = RejectAsync;
        });
        return builder;
    }

    public static WebApplication UseSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    private static RateLimitPartition<string> Partition(HttpContext context)
    {
        var limits = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        // Probes and the documentation are never limited: an orchestrator must always be able to ask.
        var path = context.Request.Path;
        if (limits.PermitsPerSecond == 0 || path.StartsWithSegments("/health") || path.StartsWithSegments("/swagger")
            || path.StartsWithSegments("/openapi"))
            return RateLimitPartition.GetNoLimiter("unlimited");

        var name = context.User.Identity?.IsAuthenticated == true ? context.User.Identity.Name : null;
        var partition = ClientIdentity.Of(context);
        // The factory runs once per partition, when its bucket is made: the key's own rate is looked up then, not per request.
        var keys = context.RequestServices.GetRequiredService<ApiKeyStore>();
        return RateLimitPartition.GetTokenBucketLimiter(partition, _ =>
        {
            var perSecond = (name is null ? null : keys.Named(name)?.PermitsPerSecond) ?? limits.PermitsPerSecond;
            return new TokenBucketRateLimiterOptions
            {
                TokenLimit = Math.Max(limits.Burst, perSecond),
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            };
        });
    }

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        Telemetry.ServingMetrics.RecordRejection("rate_limit", StatusCodes.Status429TooManyRequests);
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var who = ClientIdentity.Describe(context);
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteProblemAsync(
            context, StatusCodes.Status429TooManyRequests, "Too many requests", $"Rate limit reached for {who}; retry after {seconds} s.");
    }
}
