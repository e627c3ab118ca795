using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RnnService.Api.Security;
using RnnService.Api.Telemetry;
using RnnService.Training;
using RnnService.Training.Jobs;
using RnnService.Training.Storage;

namespace RnnService.Api.Configuration;

/// <summary>Where the metrics are served (section <c>Metrics</c>).</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>Whether <c>GET /metrics</c> is served and the instruments are collected at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Serve <c>/metrics</c> on this port alone (and nothing else there), open to whoever reaches the port, instead of on
    /// the service's own with the admin scope. It listens on the same address as the service's first URL.
    /// </summary>
    [Range(1, 65535)]
    public int? Port { get; set; }
}

/// <summary>
/// Telemetry through OpenTelemetry. Metrics, scraped by Prometheus at <c>GET /metrics</c> (text exposition): ASP.NET
/// Core's, Kestrel's and the runtime's own instruments, the serving side's (<see cref="ServingMetrics"/>, with the api
/// role) and the training side's (<see cref="TrainingMetrics"/>). With API keys configured, <c>/metrics</c> needs the admin
/// scope, unless <c>Metrics:Port</c> gives it a port of its own; a worker-only process serves it openly beside its
/// health endpoints, as it serves nothing else. Traces (<see cref="Tracing"/>, with ASP.NET Core's request spans as their
/// parents) go out over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and nowhere otherwise. Logs are JSON lines
/// with the trace and span ids when <c>Logging:Format</c> is <c>json</c>.
/// </summary>
public static class TelemetryServices
{
    private const string OtlpEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT", OtlpTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";

    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder, ServiceRoles roles)
    {
        var configuration = builder.Configuration;
        var metrics = Options(configuration);
        AddLogging(builder);
        if (roles.Api) builder.Services.AddSingleton<ServingMetrics>();
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("rnnservice", serviceInstanceId: Environment.MachineName));
        if (metrics.Enabled)
            telemetry.WithMetrics(meters => meters
                .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime",
                    ServingMetrics.MeterName, TrainingMetrics.MeterName)
                // The runtime's gauges named *.count read to Prometheus as a histogram's part (promtool refuses them).
                .AddView("dotnet.assembly.count", "dotnet.assemblies")
                .AddView("dotnet.process.cpu.count", "dotnet.process.cpus")
                .AddView("dotnet.timer.count", "dotnet.timers")
                // Every scrape reads the instruments now (the exporter's default keeps an answer for 300 ms).
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        if (!string.IsNullOrWhiteSpace(configuration[OtlpEndpoint]) || !string.IsNullOrWhiteSpace(configuration[OtlpTracesEndpoint]))
            // The exporter reads the rest of the OTEL_* settings (protocol, headers, batching) itself.
            telemetry.WithTracing(traces => traces.AddSource(Tracing.SourceName, "Microsoft.AspNetCore").AddOtlpExporter());
        if (metrics.Port is { } port) AddMetricsUrl(builder, port);
        return builder;
    }

    /// <summary>With its own port, <c>/metrics</c> alone answers there, and is not served on the others.</summary>
    public static WebApplication UseMetricsPort(this WebApplication app)
    {
        var metrics = Options(app.Configuration);
        if (!metrics.Enabled || metrics.Port is not { } port) return app;
        app.Use((context, next) =>
        {
            var onPort = context.Connection.LocalPort == port;
            if (onPort == context.Request.Path.Equals("/metrics", StringComparison.OrdinalIgnoreCase)) return next(context);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        return app;
    }

    public static WebApplication MapMetrics(this WebApplication app, ServiceRoles roles)
    {
        var metrics = Options(app.Configuration);
        if (!metrics.Enabled) return app;
        if (roles.Api)
        {
            // The observable instruments read the batchers' and the cache's totals: made once, at start.
            app.Services.GetRequiredService<ServingMetrics>();
            var contexts = app.Services.GetRequiredService<IDbContextFactory<RnnDbContext>>();
            var jobs = TrainingMetrics.ObserveJobs(() =>
            {
                using var context = contexts.CreateDbContext();
                return context.TrainingJobs.GroupBy(job => job.State).Select(group => new { group.Key, Count = group.LongCount() }).ToList()
                    .Select(row => (row.Key.ToString().ToLowerInvariant(), row.Count)).ToList();
            });
            app.Lifetime.ApplicationStopped.Register(jobs.Dispose);
        }
        var endpoint = app.MapPrometheusScrapingEndpoint("/metrics");
        if (roles.Api && metrics.Port is null) endpoint.RequireScope(Scopes.Admin);
        return app;
    }

    private static MetricsOptions Options(IConfiguration configuration)
    {
        var options = configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new MetricsOptions();
        if (options.Port is < 1 or > 65535) throw new InvalidOperationException($"Metrics:Port must be a port from 1 to 65535, not {options.Port}.");
        return options;
    }

    /// <summary><c>Logging:Format</c>: <c>simple</c> (the default console lines) or <c>json</c>.</summary>
    private static void AddLogging(WebApplicationBuilder builder)
    {
        var format = builder.Configuration["Logging:Format"]?.Trim().ToLowerInvariant();
        if (format is null or "" or "simple") return;
        if (format != "json") throw new InvalidOperationException($"Logging:Format must be simple or json, not '{format}'.");
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(json =>
        {
            json.IncludeScopes = true;
            json.UseUtcTimestamp = true;
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        // Each line carries the trace and span it was written in. The service's own spans exist for that even when no
        // exporter listens: made for their ids only, never recorded.
        builder.Logging.Configure(logging => logging.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        ActivitySource.AddActivityListener(new ActivityListener
        {
            ShouldListenTo = source => source.Name == Tracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        });
    }

    /// <summary>Adds the metrics port to the service's URLs (<c>--urls</c>, <c>ASPNETCORE_URLS</c> or the ports settings).</summary>
    private static void AddMetricsUrl(WebApplicationBuilder builder, int port)
    {
        var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
        if (string.IsNullOrWhiteSpace(urls))
        {
            var ports = builder.WebHost.GetSetting("http_ports");
            urls = string.IsNullOrWhiteSpace(ports)
                ? "http://localhost:5000"
                : string.Join(';', ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"http://*:{p}"));
        }
        var first = BindingAddress.Parse(urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0]);
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, $"{urls};http://{first.Host}:{port}");
    }
}
