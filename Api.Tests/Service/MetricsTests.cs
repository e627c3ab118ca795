using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using RnnService.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using RnnService.Api.Inference;
using RnnService.Api.Tests.Security;

namespace RnnService.Api.Tests.Service;

/// <summary>
/// <c>GET /metrics</c> through a real scrape: the counters move as they should. The instruments are process-wide and
/// tests run side by side, so each figure is read for this test's own model, or as an increase of at least one.
/// </summary>
public sealed partial class MetricsTests
{
    /// <summary>The sum of every series of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    private static double Value(string exposition, string name, params string[] labels) =>
        exposition.Split('\n')
            .Select(line => SampleLine().Match(line))
            .Where(match => match.Success && match.Groups[1].Value == name && labels.All(label => match.Groups[2].Value.Contains(label)))
            .Sum(match => double.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([0-9.eE+-]+|NaN)(?: \d+)?$")]
    private static partial Regex SampleLine();

    [Fact]
    public async Task APredictionCountsOnceAndEngineCallsCountTheirSequences()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string>());
        var client = service.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "metered.csv");
        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "metered",
            task = new { kind = "forecast", inputLength = 12, horizon = 3, calendarFeatures = "none" },
            model = new { hiddenSize = 8 }, training = new { epochs = 1 },
        }));
        Assert.Equal("succeeded", job.State());
        object Request(int n) => new { model = "metered", inputs = new[] { Enumerable.Range(0, 12).Select(i => 100.0 + i + n).ToArray() } };

        var before = await client.GetStringAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/predict", Request(0))).StatusCode);
        var once = await client.GetStringAsync("/metrics");
        var responses = await Task.WhenAll(Enumerable.Range(1, 3).Select(n => client.PostAsJsonAsync("/predict", Request(n))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/predict", new { model = "metered", inputs = new[] { new[] { new[] { 1.0, 2.0 } } } })).StatusCode);
        var after = await client.GetStringAsync("/metrics");

        const string ok = "outcome=\"ok\"", mine = "model=\"metered\"";
        Assert.Equal(0, Value(before, "rnnservice_predictions_total", mine));
        Assert.Equal(1, Value(once, "rnnservice_predictions_total", mine, ok, "version=\"1\""));
        Assert.Equal(4, Value(after, "rnnservice_predictions_total", mine, ok));
        Assert.Equal(1, Value(after, "rnnservice_predictions_total", mine, "outcome=\"invalid\""));
        // The first request was one engine call of one sequence; the three concurrent ones' three sequences ran in at most
        // three calls (how many depends on when they arrive: BatchingTests holds the engine to make them share one), and
        // the histogram's sum over its count is the average batch size.
        Assert.Equal(1, Value(once, "rnnservice_engine_batch_size_count", mine));
        Assert.Equal(1, Value(once, "rnnservice_engine_batch_size_sum", mine));
        Assert.InRange(Value(after, "rnnservice_engine_batch_size_count", mine), 2, 4);
        Assert.Equal(4, Value(after, "rnnservice_engine_batch_size_sum", mine));
        Assert.Equal(Value(after, "rnnservice_engine_batch_size_count", mine), Value(after, "rnnservice_engine_duration_seconds_count", mine));
        Assert.Equal(Value(after, "rnnservice_engine_batch_size_count", mine), Value(after, "rnnservice_engine_padding_count", mine));
        Assert.True(Value(after, "rnnservice_batcher_queue_duration_seconds_count") >= 4);
        Assert.True(Value(after, "rnnservice_predict_duration_seconds_count", ok) >= 4);
        Assert.True(Value(after, "rnnservice_model_cache_loads_total") >= 1);
        Assert.True(Value(after, "rnnservice_training_epochs_total") >= 1);
        Assert.True(Value(after, "http_server_request_duration_seconds_count") > 0);
    }

    [Fact]
    public async Task ACancelledJobIsCountedAndTheMetricsNeedTheAdminScopeWithKeys()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string>());
        var client = service.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "cancel.csv");
        var id = await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "metered-cancel",
            task = new { kind = "forecast", inputLength = 12, horizon = 3, calendarFeatures = "none" },
            model = new { hiddenSize = 8 }, training = new { epochs = 10_000, earlyStoppingPatience = 0 },
        });
        await client.WaitForJobAsync(id, j => j["progress"]?["epoch"]?.GetValue<int>() >= 1);
        var running = await client.GetStringAsync("/metrics");
        await client.PostAsync($"/training-jobs/{id}/cancel", null);
        Assert.Equal("cancelled", (await client.WaitForEndAsync(id)).State());
        // The worker counts the end just after it records it: look again for a moment.
        var ended = running;
        for (var look = 0; look < 50 && Value(ended, "rnnservice_jobs_ended_total", "state=\"cancelled\"") < 1; look++, await Task.Delay(100))
            ended = await client.GetStringAsync("/metrics");
        // This service's store holds this one job (the gauge counts the store's jobs by state; tests run one class at a time).
        Assert.Equal(1, Value(running, "rnnservice_jobs", "state=\"running\""));
        Assert.Equal(0, Value(running, "rnnservice_jobs", "state=\"cancelled\""));
        Assert.Equal(0, Value(ended, "rnnservice_jobs", "state=\"running\""));
        Assert.Equal(1, Value(ended, "rnnservice_jobs", "state=\"cancelled\""));
        Assert.True(Value(ended, "rnnservice_jobs_ended_total", "state=\"cancelled\"")
                    >= Value(running, "rnnservice_jobs_ended_total", "state=\"cancelled\"") + 1);
        // The job's live gauges went with it.
        Assert.True(Value(running, "rnnservice_training_throughput_per_second", $"job=\"{id}\"") > 0, running);
        Assert.DoesNotContain(id, ended);

        using var keyed = RnnServiceFactory.With(Keys.Settings(new Dictionary<string, string> { ["Roles"] = "api" }));
        Assert.Equal(HttpStatusCode.Unauthorized, (await keyed.CreateClient().GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await keyed.CreateClient().WithKey(Keys.Predict).GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await keyed.CreateClient().WithKey(Keys.Admin).GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public Task ThreeConcurrentRequestsThatShareAnEngineCallShowOneCallOfThreeSequences() =>
        ThreadPools.WithThreadsForQueuedRequestsAsync(SharedCallAsync);

    private static async Task SharedCallAsync()
    {
        // One engine call at a time: while a long request runs, the three wait in the queue, and then go in one call.
        // A request's sequences are gathered into one batch while they are being written, up to the batch's wait: a long
        // wait keeps a busy machine's pause between two writes from splitting the long request into calls of its own.
        using var service = RnnServiceFactory.With(new Dictionary<string, string>
        {
            ["Inference:Batching:MaxConcurrentBatches"] = "1", ["Inference:Batching:MaxWaitMilliseconds"] = "50",
        });
        var client = service.CreateClient();
        var statistics = service.Services.GetRequiredService<InferenceStatistics>();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "shared.csv");
        Assert.Equal("succeeded", (await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "shared", task = new { kind = "forecast", inputLength = 6, calendarFeatures = "none" },
            model = new { hiddenSize = 64, numLayers = 2 }, training = new { epochs = 1 },
        }))).State());
        var short3 = Enumerable.Range(0, 3).Select(n => new { model = "shared", inputs = new[] { new[] { 1.0 + n, 2.0, 3.0 } } }).ToList();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/predict", short3[0])).StatusCode); // loaded, its batcher started
        var random = new Random(5);
        // A long request holds the one engine slot; if it ends before the three are queued behind it, try a longer one.
        for (var steps = 3000; steps <= 48_000; steps *= 2)
        {
            var before = await client.GetStringAsync("/metrics");
            var blocker = client.PostAsJsonAsync("/predict", new
            {
                model = "shared", inputs = Enumerable.Range(0, 32).Select(_ => Enumerable.Range(0, steps).Select(_ => random.NextDouble()).ToArray()).ToArray(),
            });
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (statistics.Running == 0 && !blocker.IsCompleted && DateTime.UtcNow < deadline) Thread.Sleep(1);
            var three = short3.Select(request => client.PostAsJsonAsync("/predict", request)).ToList();
            while (statistics.Queued < 3 && statistics.Running == 1 && DateTime.UtcNow < deadline) Thread.Sleep(1);
            var queuedBehind = statistics.Queued == 3 && statistics.Running == 1;
            Assert.Equal(HttpStatusCode.OK, (await blocker).StatusCode);
            Assert.All(await Task.WhenAll(three), response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
            if (!queuedBehind) continue;
            var after = await client.GetStringAsync("/metrics");
            const string mine = "model=\"shared\"";
            double Change(string name, params string[] labels) => Value(after, name, [mine, .. labels]) - Value(before, name, [mine, .. labels]);
            // The long request's 32 sequences went in one call, the three requests' three sequences in another: one call of
            // 3 (or 4) sequences and none of 1 or 2.
            Assert.Equal(32 + 3, Change("rnnservice_engine_batch_size_sum"));
            Assert.Equal(2, Change("rnnservice_engine_batch_size_count"));
            Assert.Equal(1, Change("rnnservice_engine_batch_size_bucket", "le=\"4\"") - Change("rnnservice_engine_batch_size_bucket", "le=\"2\""));
            Assert.Equal(0, Change("rnnservice_engine_batch_size_bucket", "le=\"2\""));
            Assert.Equal(4, Change("rnnservice_predictions_total", "outcome=\"ok\""));
            return;
        }
        Assert.Fail("the long request never held the engine while the three were queued");
    }
}
