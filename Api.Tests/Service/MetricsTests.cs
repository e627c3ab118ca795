using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using RnnService.Api.Tests.Infrastructure;
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
        var before = Value(await client.GetStringAsync("/metrics"), "rnnservice_jobs_ended_total", "state=\"cancelled\"");
        await client.PostAsync($"/training-jobs/{id}/cancel", null);
        Assert.Equal("cancelled", (await client.WaitForEndAsync(id)).State());
        // The worker counts the end just after it records it: look again for a moment.
        var after = before;
        for (var look = 0; look < 50 && after < before + 1; look++, await Task.Delay(100))
            after = Value(await client.GetStringAsync("/metrics"), "rnnservice_jobs_ended_total", "state=\"cancelled\"");
        Assert.True(after >= before + 1, $"cancelled jobs {before} → {after}");

        using var keyed = RnnServiceFactory.With(Keys.Settings(new Dictionary<string, string> { ["Roles"] = "api" }));
        Assert.Equal(HttpStatusCode.Unauthorized, (await keyed.CreateClient().GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await keyed.CreateClient().WithKey(Keys.Predict).GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await keyed.CreateClient().WithKey(Keys.Admin).GetAsync("/metrics")).StatusCode);
    }
}
