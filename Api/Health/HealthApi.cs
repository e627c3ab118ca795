using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RnnService.Api.Health;

/// <summary>The state of one dependency of the service.</summary>
public sealed record HealthCheckReport(
    [property: Description("Healthy, Degraded or Unhealthy.")] string Status,
    string? Description,
    IReadOnlyDictionary<string, object> Data);

/// <summary>The service's readiness and the state of each of its dependencies.</summary>
public sealed record ReadinessReport(
    [property: Description("Healthy when every check is.")] string Status,
    IReadOnlyDictionary<string, HealthCheckReport> Checks);

/// <summary>The process is up.</summary>
public sealed record LivenessReport([property: DefaultValue("Healthy")] string Status);

public static class HealthApi
{
    public static RouteGroupBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("Health");

        group.MapGet("/live", GetLiveness)
            .WithName("GetLiveness")
            .WithSummary("Is the process up?")
            .WithDescription("Answers 200 as long as the process serves HTTP; it checks no dependency.");

        group.MapGet("/ready", GetReadinessAsync)
            .WithName("GetReadiness")
            .WithSummary("Can the service do its work?")
            .WithDescription(
                "Checks what this process's roles need: the job store answers, the storage folders it writes (datasets " +
                "and models for api, checkpoints and models for worker) are writable, and the tensor engine is loaded. " +
                "Reports the roles, the storage provider, the device (cpu or cuda) and the libtorch version. 503 while " +
                "any check fails.")
            .Produces<ReadinessReport>(StatusCodes.Status503ServiceUnavailable);

        return group;
    }

    public static Ok<LivenessReport> GetLiveness() => TypedResults.Ok(new LivenessReport("Healthy"));

    public static async Task<Results<Ok<ReadinessReport>, JsonHttpResult<ReadinessReport>>> GetReadinessAsync(
        HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains("ready"), cancellationToken);
        var body = new ReadinessReport(
            report.Status.ToString(),
            report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new HealthCheckReport(entry.Value.Status.ToString(), entry.Value.Description, entry.Value.Data)));
        return report.Status == HealthStatus.Healthy
            ? TypedResults.Ok(body)
            : TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
