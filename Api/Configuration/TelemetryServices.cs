using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using RnnService.Api.Security;
using RnnService.Api.Telemetry;
using RnnService.Training;
using RnnService.Training.Jobs;

namespace RnnService.Api.Configuration;

/// <summary>
/// Metrics through OpenTelemetry, scraped by Prometheus at <c>GET /metrics</c> (text exposition): ASP.NET Core's and
/// Kestrel's own instruments, the serving side's (<see cref="ServingMetrics"/>, with the api role) and the training
/// side's (<see cref="TrainingMetrics"/>). With API keys configured, <c>/metrics</c> needs the admin scope; a worker-only
/// process serves it openly beside its health endpoints, as it serves nothing else.
/// </summary>
public static class TelemetryServices
{
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder, ServiceRoles roles)
    {
        if (roles.Api) builder.Services.AddSingleton<ServingMetrics>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("rnnservice", serviceInstanceId: Environment.MachineName))
            .WithMetrics(metrics => metrics
            .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", ServingMetrics.MeterName, TrainingMetrics.MeterName)
            // Every scrape reads the instruments now (the exporter's default keeps an answer for 300 ms).
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        return builder;
    }

    public static WebApplication MapMetrics(this WebApplication app, ServiceRoles roles)
    {
        // The observable instruments read the batchers' and the cache's totals: made once, at start.
        if (roles.Api) app.Services.GetRequiredService<ServingMetrics>();
        var endpoint = app.MapPrometheusScrapingEndpoint("/metrics");
        if (roles.Api) endpoint.RequireScope(Scopes.Admin);
        return app;
    }
}
