using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Inference;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Security;

/// <summary>
/// Rate limits per key, and the bounded queues: each answers with a ProblemDetails and Retry-After instead of growing
/// without bound, and what was refused was not stored.
/// </summary>
public sealed class LimitTests
{
    [Fact]
    public async Task EachKeyHasItsOwnBucketAndTheOneOverItsRateGets429WithRetryAfter()
    {
        var settings = Keys.Settings(new Dictionary<string, string>
        {
            ["Roles"] = "api", ["RateLimits:PermitsPerSecond"] = "1", ["RateLimits:Burst"] = "2",
        });
        settings["Auth:Keys:1:PermitsPerSecond"] = "1000";  // the trainer's own rate
        using var service = RnnServiceFactory.With(settings);
        var predictor = service.CreateClient().WithKey(Keys.Predict);

        Assert.Equal(HttpStatusCode.OK, (await predictor.GetAsync("/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await predictor.GetAsync("/models")).StatusCode);
        var limited = await predictor.GetAsync("/models");

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), limited.Headers.RetryAfter?.ToString());
        Assert.Contains("'predictor'", (await limited.ProblemAsync())["detail"]!.GetValue<string>());
        // Another key, with its own rate, and the probes are not held back by the predictor's bucket.
        var trainer = service.CreateClient().WithKey(Keys.Train);
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, (await trainer.GetAsync("/datasets")).StatusCode);
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, (await predictor.GetAsync("/health/live")).StatusCode);
        // The operator's key has the common rate and its own bucket.
        var admin = service.CreateClient().WithKey(Keys.Admin);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/models")).StatusCode);
    }

    [Fact]
    public async Task WithoutKeysEachClientIsLimited()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string>
        {
            ["Roles"] = "api", ["RateLimits:PermitsPerSecond"] = "1", ["RateLimits:Burst"] = "1",
        });
        var client = service.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/datasets")).StatusCode);
        var limited = await client.GetAsync("/datasets");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Contains("this client", (await limited.ProblemAsync())["detail"]!.GetValue<string>());
        // A client that accepts only HTML gets the status and Retry-After too, not a 500.
        var html = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/datasets") { Headers = { { "Accept", "text/html" } } });
        Assert.Equal(HttpStatusCode.TooManyRequests, html.StatusCode);
        Assert.NotNull(html.Headers.RetryAfter);
    }

    [Fact]
    public async Task AFullJobQueueAnswers503WithRetryAfterAndStoresNothing()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string> { ["Roles"] = "api", ["Jobs:MaxQueued"] = "2" });
        var client = service.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "queue.csv");
        object Job(string name) => new { datasetId = dataset, modelName = name, task = new { kind = "forecast", horizon = 3 } };
        await client.CreateJobAsync(Job("first"));
        await client.CreateJobAsync(Job("second"));

        var refused = await client.PostJobAsync(Job("third"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("job queue is full (2 jobs waiting)", (await refused.ProblemAsync())["detail"]!.GetValue<string>());
        var jobs = (await client.ListAsync("/training-jobs"));
        Assert.Equal(["second", "first"], jobs.Select(job => job!["request"]!["modelName"]!.GetValue<string>()));
        // A request that cannot train still says why, full queue or not.
        var invalid = await client.PostJobAsync(new { datasetId = dataset, modelName = "x", task = new { kind = "forecast", horizon = 0 } });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
    }

    [Fact]
    public async Task AFullPredictQueueAnswers503WithRetryAfterAndTheRequestsItTookSucceed()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string>
        {
            ["Roles"] = "api",
            ["Inference:Batching:MaxConcurrentBatches"] = "1",
            ["Inference:Batching:MaxQueuedSequences"] = "2",
        });
        var client = service.CreateClient();
        await ImportAsync(client, "slow");
        var random = new Random(5);
        var sequence = Enumerable.Range(0, 1500).Select(_ => new[] { random.NextSingle(), random.NextSingle() }).ToArray();
        var body = new { model = "slow", inputs = new[] { sequence, sequence } };

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.PostAsJsonAsync("/predict", body)));

        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, r.StatusCode.ToString()));
        Assert.NotEmpty(refused);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(TimeSpan.FromSeconds(1), refused[0].Headers.RetryAfter?.Delta);
        Assert.Contains("queue is full", (await refused[0].ProblemAsync())["detail"]!.GetValue<string>());
        var statistics = (InferenceStatistics)service.Services.GetService(typeof(InferenceStatistics))!;
        Assert.Equal(refused.Count, statistics.Refused);
        // Once the queue drains, the same request is served.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/predict", body)).StatusCode);
    }

    internal static async Task ImportAsync(HttpClient client, string name)
    {
        using var model = SequenceModel.Create(
            new ModelSpec { Cell = CellKind.Lstm, InputSize = 2, HiddenSize = 64, NumLayers = 2, OutputSize = 1, Dropout = 0 }, seed: 3);
        var weights = new MemoryStream();
        model.SaveWeights(weights);
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("""{"task":{"kind":"regression"}}""", Encoding.UTF8), "spec");
        form.Add(new ByteArrayContent(weights.ToArray()), "weights", "model.pt");
        var response = await client.PostAsync($"/models/{name}/versions", form);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }
}
