using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Training.Pipeline;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// The service as its own process, stopped with SIGTERM as a container runtime stops it: the running job is checkpointed
/// where it stands and released, then resumed by the next process to the same model as a job never stopped; predictions
/// already in flight are answered before the process ends.
/// </summary>
public sealed partial class GracefulShutdownTests : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    private readonly string dataDirectory = Directory.CreateTempSubdirectory("rnnservice-sigterm-").FullName;

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);

    [Fact]
    public async Task SigtermCheckpointsTheRunningJobReleasesItAndTheResumedJobEndsAsAnUninterruptedOne()
    {
        string datasetId, jobId;
        int epochAtStop, stoppedEpoch, stoppedAfter;
        using (var first = ServiceProcess.Start(dataDirectory))
        {
            var client = await first.ReadyClientAsync();
            datasetId = await client.UploadDatasetAsync(TestData.SeasonalCsv(480), "long.csv");
            jobId = await client.CreateJobAsync(Request(datasetId, "stopped"));
            var running = await client.WaitForJobAsync(jobId, job => job["progress"]?["epoch"]?.GetValue<int>() >= 2);
            epochAtStop = running["progress"]!["epoch"]!.GetValue<int>();

            Assert.Equal(0, await first.TerminateAsync(Grace));

            var stopped = first.Lines.Select(line => StoppedLine().Match(line)).Single(match => match.Success && match.Groups[1].Value == jobId);
            (stoppedEpoch, stoppedAfter) = (int.Parse(stopped.Groups[2].Value), int.Parse(stopped.Groups[3].Value));
            Assert.True(stoppedEpoch > epochAtStop, $"stopped in epoch {stoppedEpoch}, but epoch {epochAtStop} was done before SIGTERM");
            Assert.DoesNotContain(first.Lines, line => line.Contains("fail:") || line.Contains("crit:"));
        }

        // The checkpoint holds the epochs done and, when SIGTERM came between two batches (nearly always), the batches
        // of the epoch it stopped.
        var checkpoint = CheckpointFiles.TryLoad(Path.Combine(dataDirectory, "checkpoints", jobId), out _)!;
        Assert.Equal(stoppedEpoch - 1, checkpoint.Progress.Epoch);
        var unfinished = checkpoint.Progress.Unfinished;
        if (stoppedAfter > 0) Assert.Equal((stoppedEpoch, stoppedAfter), (unfinished!.Epoch, unfinished.Batches));
        else Assert.Null(unfinished);

        using var second = ServiceProcess.Start(dataDirectory);
        var restarted = await second.ReadyClientAsync();
        var resumed = await restarted.WaitForEndAsync(jobId, timeoutSeconds: 180);
        var reference = await restarted.WaitForEndAsync(await restarted.CreateJobAsync(Request(datasetId, "reference")), timeoutSeconds: 180);

        Assert.Equal("succeeded", resumed.State());
        Assert.Equal(2, resumed["attempts"]!.GetValue<int>());
        var history = resumed["history"]!.AsArray();
        Assert.Equal(Enumerable.Range(1, 6), history.Select(entry => entry!["epoch"]!.GetValue<int>()));
        // Epochs finished before the stop were not trained again; the one it interrupted was finished by the second claim.
        Assert.All(history.Take(stoppedEpoch - 1), entry => Assert.Equal(1, entry!["attempt"]!.GetValue<int>()));
        Assert.All(history.Skip(stoppedEpoch - 1), entry => Assert.Equal(2, entry!["attempt"]!.GetValue<int>()));
        // The same seed with no stop gives the same losses epoch by epoch (dropout included) and the same metrics.
        Assert.Equal(Losses(reference), Losses(resumed));
        Assert.Equal(reference["metrics"]!.ToJsonString(), resumed["metrics"]!.ToJsonString());
        var model = (await restarted.GetFromJsonAsync<JsonObject>("/models/stopped"))!;
        Assert.Single(model["versions"]!.AsArray());
    }

    [Fact]
    public async Task PredictionsInFlightAtSigtermAreAnswered()
    {
        using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["Storage__DataDirectory"] = dataDirectory,
            // One engine call at a time, and sequences long enough to keep it busy for a while: SIGTERM finds one
            // request running and the others queued behind it.
            ["Inference__Batching__MaxConcurrentBatches"] = "1",
            ["Inference__MaxStepsPerSequence"] = "150000",
            ["Inference__MaxRequestMemoryMiB"] = "2048",
        });
        var client = await service.ReadyClientAsync();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "load.csv");
        var job = await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "quick", task = new { kind = "forecast", inputLength = 6, horizon = 1, calendarFeatures = "none" },
            model = new { hiddenSize = 64, numLayers = 2 }, training = new { epochs = 1 },
        });
        Assert.Equal("succeeded", (await client.WaitForEndAsync(job)).State());
        var small = new { model = "quick", inputs = new[] { new[] { 1.0, 2, 3, 4, 5, 6 } } };
        var slow = new { model = "quick", inputs = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 150_000).Select(i => (double)(i % 12)).ToArray()).ToArray() };
        // The model loaded, and 32 open connections, so that the requests below reach the server at once.
        var warmUp = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => client.PostAsJsonAsync("/predict", small)));
        Assert.All(warmUp, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));

        // The long request runs (a few seconds on two cores, with the fused LSTM layer) while the short ones arrive and
        // queue behind it.
        var running = client.PostAsJsonAsync("/predict", slow);
        // Sent once the long request is in the engine (its body read and checked; on a busy machine that takes a while).
        await EngineBusyAsync(client);
        var inFlight = new[] { running }.Concat(Enumerable.Range(0, 31).Select(_ => client.PostAsJsonAsync("/predict", small))).ToArray();
        await Task.Delay(200);
        if (running.IsCompleted)
        {
            var early = await running;
            Assert.Fail($"the long request ended early: {(int)early.StatusCode} {await early.Content.ReadAsStringAsync()}");
        }
        Assert.DoesNotContain(inFlight, response => response.IsCompleted);
        var exit = service.TerminateAsync(Grace);

        var responses = await Task.WhenAll(inFlight);
        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.Equal(4, (await responses[0].Content.ReadFromJsonAsync<JsonObject>())!["outputs"]!.AsArray().Count);
        foreach (var response in responses.Skip(1))
            Assert.Single((await response.Content.ReadFromJsonAsync<JsonObject>())!["outputs"]!.AsArray());
        Assert.Equal(0, await exit);
    }

    /// <summary>Waits until the service's metrics show an engine call under way.</summary>
    private static async Task EngineBusyAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Regex.IsMatch(await client.GetStringAsync("/metrics"), @"^rnnservice_engine_running(\{[^}]*\})? [1-9]", RegexOptions.Multiline))
        {
            Assert.True(DateTime.UtcNow < deadline, "the long request never reached the engine");
            await Task.Delay(50);
        }
        await Task.Delay(100);
    }

    private static object Request(string datasetId, string modelName) => new
    {
        datasetId, modelName,
        task = new { kind = "forecast", inputLength = 24, horizon = 6, calendarFeatures = "none" },
        model = new { cell = "lstm", hiddenSize = 16, numLayers = 2, dropout = 0.2 },
        // Small batches make long epochs: a stop almost always lands between two batches.
        training = new { epochs = 6, batchSize = 2, earlyStoppingPatience = 0, seed = 7 },
    };

    [GeneratedRegex(@"Job (\S+) stopped in epoch (\d+) after (\d+) of \d+ batches, checkpointed and released at shutdown")]
    private static partial Regex StoppedLine();

    private static double[] Losses(JsonObject job) => job["history"]!.AsArray()
        .SelectMany(entry => new[] { entry!["trainLoss"]!.GetValue<double>(), entry["validationLoss"]!.GetValue<double>() })
        .ToArray();
}
