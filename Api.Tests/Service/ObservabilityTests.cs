using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Service;

/// <summary>
/// Traces exported over OTLP to a real receiver (an HTTP server of the test's own that keeps what it is sent), with the
/// spans in the right places of their traces; JSON logs that carry trace ids; <c>/metrics</c> on a port of its own; and an
/// exposition that Prometheus's own checker (<c>promtool check metrics</c>) accepts.
/// </summary>
public sealed class ObservabilityTests
{
    private static object Forecast(string dataset, string model, int epochs = 2) => new
    {
        datasetId = dataset, modelName = model,
        task = new { kind = "forecast", inputLength = 12, horizon = 3, calendarFeatures = "none" },
        model = new { hiddenSize = 8 }, training = new { epochs },
    };

    [Fact]
    public async Task SpansOfAPredictionAndAJobAreExportedOverOtlpInTheirPlaces()
    {
        // The receiver: OTLP over HTTP (protobuf), as a collector takes it at /v1/traces.
        var received = new ConcurrentBag<byte[]>();
        var receiverBuilder = WebApplication.CreateSlimBuilder();
        receiverBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var receiver = receiverBuilder.Build();
        receiver.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.Add(body.ToArray());
            return Results.Ok();
        });
        await receiver.StartAsync();
        var endpoint = receiver.Urls.Single();

        // The spans as they end, read in this process as well: their parents and links.
        var ended = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "RnnService",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = ended.Add,
        };
        ActivitySource.AddActivityListener(listener);

        string job;
        using (var service = RnnServiceFactory.With(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        }))
        {
            var client = service.CreateClient();
            var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "traced.csv");
            job = await client.CreateJobAsync(Forecast(dataset, "traced"));
            Assert.Equal("succeeded", (await client.WaitForEndAsync(job)).State());
            var predicted = await client.PostAsJsonAsync("/predict", new { model = "traced", inputs = new[] { Enumerable.Range(0, 12).Select(i => 100.0 + i).ToArray() } });
            Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);
            // The exporter sends every 100 ms; waiting for it here, not only on the flush at disposal, which a loaded
            // machine can cut short (seen once in a full run).
            for (var waited = 0; waited < 150 && !Exported().Contains("rnnservice.predict", StringComparison.Ordinal); waited++)
                await Task.Delay(100);
        } // disposing the service flushes its exporter

        string Exported() => Encoding.UTF8.GetString(received.SelectMany(body => body).ToArray());
        var exported = Exported();
        foreach (var name in new[]
                 {
                     "rnnservice.predict", "rnnservice.batcher.queue", "rnnservice.batch", "rnnservice.engine.forward", "rnnservice.job.claim",
                     "rnnservice.job", "rnnservice.training.epoch", "rnnservice.checkpoint.write", "rnnservice.model.register",
                 })
            Assert.Contains(name, exported);
        Assert.Contains(job, exported);

        var spans = ended.ToList();
        var predict = spans.Single(s => s.OperationName == "rnnservice.predict" && (string?)s.GetTagItem("rnnservice.model") == "traced");
        // The request's span is the HTTP server span's child; its wait in the queue its own child; its batch, run for it alone, too.
        Assert.NotEqual(default, predict.ParentSpanId);
        var wait = spans.Single(s => s.OperationName == "rnnservice.batcher.queue" && s.ParentSpanId == predict.SpanId);
        Assert.True(wait.Duration >= TimeSpan.Zero);
        var batch = spans.Single(s => s.OperationName == "rnnservice.batch" && s.ParentSpanId == predict.SpanId);
        Assert.Contains(batch.Links, link => link.Context.SpanId == predict.SpanId);
        var forward = spans.Single(s => s.OperationName == "rnnservice.engine.forward" && s.ParentSpanId == batch.SpanId);
        Assert.Equal(1, forward.GetTagItem("rnnservice.batch.sequences"));

        var run = spans.Single(s => s.OperationName == "rnnservice.job" && (string?)s.GetTagItem("rnnservice.job.id") == job);
        var claim = spans.Single(s => s.OperationName == "rnnservice.job.claim" && s.SpanId == run.ParentSpanId);
        Assert.Equal(job, claim.GetTagItem("rnnservice.job.id"));
        var epochs = spans.Where(s => s.OperationName == "rnnservice.training.epoch" && s.ParentSpanId == run.SpanId).ToList();
        Assert.Equal([1, 2], epochs.Select(s => (int)s.GetTagItem("rnnservice.epoch")!).Order());
        Assert.All(epochs, epoch => Assert.Single(spans, s => s.OperationName == "rnnservice.checkpoint.write" && s.ParentSpanId == epoch.SpanId));
    }

    [Fact]
    public async Task JsonLogsCarryTraceIdsTheMetricsPortServesOnlyMetricsAndPromtoolAcceptsTheExpositionAndTheDashboard()
    {
        var data = Directory.CreateTempSubdirectory("rnnservice-observability-").FullName;
        var metricsPort = ServiceProcess.FreePort();
        try
        {
            using var service = ServiceProcess.Start(new Dictionary<string, string>
            {
                ["Storage__DataDirectory"] = data,
                ["Logging__Format"] = "json",
                ["Metrics__Port"] = metricsPort.ToString(),
            });
            var client = await service.ReadyClientAsync();
            var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "logged.csv");
            var job = await client.CreateJobAsync(Forecast(dataset, "logged", epochs: 1));
            Assert.Equal("succeeded", (await client.WaitForEndAsync(job)).State());
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/predict",
                new { model = "logged", inputs = new[] { Enumerable.Range(0, 12).Select(i => 100.0 + i).ToArray() } })).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/predict", new { model = "logged" })).StatusCode);

            // /metrics on its own port, open; not on the service's; nothing else on the metrics port.
            using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };
            var exposition = await metrics.GetStringAsync("/metrics");
            Assert.Contains("rnnservice_predictions_total", exposition);
            Assert.Contains("rnnservice_jobs{", exposition);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/metrics")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync("/health/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync($"/training-jobs/{job}")).StatusCode);

            // Prometheus's own checker of the text exposition (names, types, help, histograms): no problems.
            var (exit, problems) = await RunAsync("promtool", ["check", "metrics"], exposition);
            Assert.True(exit == 0, $"promtool check metrics: {problems}");

            // The Grafana dashboard's queries are PromQL that Prometheus accepts (checked as recording rules), over metrics
            // the service exports (those counted only once something happened, as a rejection, or shown only while a job
            // runs, need not be there now).
            var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(PyTorch.Readme())!, "deploy", "grafana", "rnnservice.json"))).RootElement;
            var queries = dashboard.GetProperty("panels").EnumerateArray()
                .SelectMany(panel => panel.TryGetProperty("targets", out var targets) ? targets.EnumerateArray() : Enumerable.Empty<JsonElement>())
                .Select(target => target.GetProperty("expr").GetString()!.Replace("$__rate_interval", "5m")).ToList();
            Assert.True(queries.Count >= 15, $"{queries.Count} queries");
            var rules = Path.Combine(data, "dashboard-rules.yml");
            File.WriteAllText(rules, "groups:\n  - name: dashboard\n    rules:\n" + string.Concat(queries.Select((query, i) =>
                $"      - record: dashboard:query{i}\n        expr: {JsonSerializer.Serialize(query)}\n")));
            var (rulesExit, rulesOutput) = await RunAsync("promtool", ["check", "rules", rules]);
            Assert.True(rulesExit == 0, $"promtool check rules: {rulesOutput}");
            string[] afterAnEvent =
            [
                "rnnservice_rejections_total", "rnnservice_jobs_lease_expiries_total", "rnnservice_training_throughput_per_second",
                "rnnservice_training_epoch_progress",
            ];
            var names = queries.SelectMany(query => Regex.Matches(query, @"\b(?:rnnservice|http_server)_[a-z_]+").Select(match => match.Value)).Distinct();
            Assert.All(names.Except(afterAnEvent), name => Assert.True(exposition.Contains($"\n{name}"), $"{name} is not exported"));

            // Every line on standard output is a JSON object; the worker's claim and the request's lines carry trace ids.
            var json = service.Lines.Where(line => line.StartsWith('{')).Select(line => JsonDocument.Parse(line).RootElement).ToList();
            Assert.NotEmpty(json);
            var claimed = json.Single(entry => entry.GetProperty("Message").GetString()!.Contains($"Job {job} claimed"));
            Assert.Equal("Information", claimed.GetProperty("LogLevel").GetString());
            var scope = claimed.GetProperty("Scopes").EnumerateArray().Single(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("TraceId", out _));
            Assert.Matches("^[0-9a-f]{32}$", scope.GetProperty("TraceId").GetString()!);
            Assert.Matches("^[0-9a-f]{16}$", scope.GetProperty("SpanId").GetString()!);
            var succeeded = json.Single(entry => entry.GetProperty("Message").GetString()!.Contains($"Job {job} succeeded"));
            var sameTrace = succeeded.GetProperty("Scopes").EnumerateArray().Single(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("TraceId", out _));
            Assert.Equal(scope.GetProperty("TraceId").GetString(), sameTrace.GetProperty("TraceId").GetString());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments, string? input = null)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        if (input is not null) await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await errors);
    }
}
