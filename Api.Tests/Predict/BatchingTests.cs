using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RnnService.Api.Inference;
using RnnService.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RnnService.Api.Tests.Predict;

public sealed class BatchingTests(ITestOutputHelper output)
{
    private static RnnServiceFactory Service(int concurrentBatches = 0) =>
        RnnServiceFactory.With(new Dictionary<string, string> { ["Inference:Batching:MaxConcurrentBatches"] = concurrentBatches.ToString() });

    private static InferenceStatistics Statistics(RnnServiceFactory factory) => factory.Services.GetRequiredService<InferenceStatistics>();

    private static async Task<JsonObject> PredictAsync(HttpClient client, object request, CancellationToken cancellationToken = default)
    {
        var response = await client.PostAsJsonAsync("/predict", request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    [Fact]
    public async Task SixtyFourConcurrentRequestsDuringTrainingEachEqualTheSameRequestSentAlone()
    {
        using var factory = Service();
        var client = factory.CreateClient();
        var signs = await client.UploadDatasetAsync(TestData.SignSequencesJsonl(), "signs.jsonl");
        var trained = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = signs, modelName = "signs", task = new { kind = "classification" },
            model = new { hiddenSize = 16, numLayers = 2, bidirectional = true }, training = new { epochs = 2 },
        }));
        Assert.Equal("succeeded", trained.State());
        var series = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "load.csv");
        var training = await client.CreateJobAsync(new
        {
            datasetId = series, modelName = "busy", task = new { kind = "forecast", calendarFeatures = "none" },
            training = new { epochs = 100_000, earlyStoppingPatience = 0 },  // still running when the requests are done
        });
        await client.WaitForJobAsync(training, job => job["progress"]?["epoch"]?.GetValue<int>() >= 1);

        var random = new Random(7);
        var requests = Enumerable.Range(0, 64).Select(_ => new
        {
            model = "signs",
            returnStates = random.Next(4) == 0,
            inputs = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Enumerable.Range(0, random.Next(1, 61))
                .Select(_ => new[] { Math.Round(random.NextDouble() * 2 - 1, 4), Math.Round(random.NextDouble(), 4) }).ToArray()).ToArray(),
        }).ToArray();
        var alone = new List<JsonObject>();
        foreach (var request in requests) alone.Add(await PredictAsync(client, request));
        var callsBefore = Statistics(factory).EngineCalls;

        var together = await Task.WhenAll(requests.Select(request => Task.Run(() => PredictAsync(client, request))));

        var calls = Statistics(factory).EngineCalls - callsBefore;
        var largest = alone.Zip(together).Max(pair => JsonNumbers.LargestDifference(pair.First["outputs"], pair.Second["outputs"]));
        output.WriteLine($"64 concurrent requests ran in {calls} engine calls; largest difference from alone: {largest:g3}");
        Assert.Equal("running", (await client.GetJobAsync(training)).State());
        Assert.True(largest <= 1e-6, $"a batched answer differs from the same request alone by {largest}");
        Assert.True(calls < requests.Length, $"{calls} engine calls for {requests.Length} requests: nothing was batched");
        await client.PostAsync($"/training-jobs/{training}/cancel", null);
        Assert.Equal("cancelled", (await client.WaitForEndAsync(training)).State());
    }

    private const int LongSequences = 32;

    [Fact]
    public Task ARequestWhoseClientHasGoneAwayIsDroppedFromTheQueue() => ThreadPools.WithThreadsForQueuedRequestsAsync(ClientGoneWhileQueuedAsync);

    private async Task ClientGoneWhileQueuedAsync()
    {
        // One engine call at a time: while a long request runs, the next one waits in the queue.
        using var factory = Service(concurrentBatches: 1);
        var client = factory.CreateClient();
        var series = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "load.csv");
        var trained = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = series, modelName = "load", task = new { kind = "forecast", inputLength = 6, calendarFeatures = "none" },
            model = new { hiddenSize = 64, numLayers = 2 }, training = new { epochs = 1 },
        }));
        Assert.Equal("succeeded", trained.State());
        await PredictAsync(client, new { model = "load", inputs = new[] { new[] { 1.0, 2.0 } } }); // loaded, and its batcher started
        var before = (Statistics(factory).Sequences, Statistics(factory).Dropped);

        var random = new Random(3);
        var started = DateTime.UtcNow;
        // Long enough (32 × 3,000 steps: about a second on 2 cores, never under a quarter of one) that the next request
        // is queued and its client gone before this one is done.
        var blocker = PredictAsync(client, new
        {
            model = "load", inputs = Enumerable.Range(0, LongSequences).Select(_ => Enumerable.Range(0, 3000).Select(_ => random.NextDouble()).ToArray()).ToArray(),
        });
        // The next request must queue behind the long one, so wait until the long one is in the engine.
        // Watched from a thread of its own: a thread-pool continuation may not get a turn while the engine holds the cores.
        var running = DateTime.UtcNow.AddSeconds(10);
        var watcher = new Thread(() =>
        {
            while (Statistics(factory).Running == 0 && !blocker.IsCompleted && DateTime.UtcNow < running) Thread.Sleep(1);
        }) { Priority = ThreadPriority.AboveNormal };
        watcher.Start();
        watcher.Join();
        Assert.True(Statistics(factory).Running == 1, "the long request was not in the engine");
        using (var gone = new CancellationTokenSource())
        {
            var waiting = PredictAsync(client, new { model = "load", inputs = new[] { new[] { 1.0, 2.0, 3.0 }, new[] { 4.0 } } }, gone.Token);
            // Its client goes away once its two sequences wait behind the long request (not after a fixed time: on a busy
            // machine the request may take longer than that to reach the queue, and would then never be in it).
            var queuedBy = DateTime.UtcNow.AddSeconds(10);
            var queueWatcher = new Thread(() =>
            {
                while (Statistics(factory).Queued < 2 && !waiting.IsCompleted && DateTime.UtcNow < queuedBy) Thread.Sleep(1);
            }) { Priority = ThreadPriority.AboveNormal };
            queueWatcher.Start();
            queueWatcher.Join();
            await gone.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        }
        await blocker;
        output.WriteLine($"the long request took {(DateTime.UtcNow - started).TotalMilliseconds:F0} ms");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Statistics(factory).Dropped < before.Dropped + 2 && DateTime.UtcNow < deadline) await Task.Delay(20);

        Assert.Equal(before.Dropped + 2, Statistics(factory).Dropped);
        Assert.Equal(before.Sequences + LongSequences, Statistics(factory).Sequences);
        var after = await PredictAsync(client, new { model = "load", inputs = new[] { new[] { 1.0, 2.0 } } });
        Assert.Single(after["outputs"]!.AsArray());
    }
}
