using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// training.maxDuration bounds a job's training time: reached, the job stops after the batch under way and registers the
/// best epoch it finished (stoppedBy timeLimit), or fails when no epoch finished; a job that runs every epoch says so.
/// </summary>
public sealed class TimeLimitTests(RnnServiceFactory factory) : IClassFixture<RnnServiceFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task AJobThatReachesItsTimeLimitRegistersItsBestEpochAndSaysWhyItStopped()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(480), "series.csv");
        var id = await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "timed", task = new { kind = "forecast", inputLength = 24, horizon = 3 },
            model = new { hiddenSize = 32 }, training = new { epochs = 100_000, batchSize = 8, earlyStoppingPatience = 0, maxDuration = "PT3S" },
        });

        var job = await client.WaitForEndAsync(id, timeoutSeconds: 60);

        Assert.Equal("succeeded", job.State());
        Assert.Equal("timeLimit", job["stoppedBy"]!.GetValue<string>());
        var history = job["history"]!.AsArray();
        Assert.InRange(history.Count, 1, 99_999);
        var best = job["progress"]!["bestEpoch"]!.GetValue<int>();
        var version = (await client.GetFromJsonAsync<JsonObject>("/models/timed/versions/1"))!;
        Assert.Equal(id, version["source"]!.GetValue<string>());
        // The registered weights are the best finished epoch's, whose metrics the version carries.
        Assert.Equal(history[best - 1]!["metrics"]!.ToJsonString(), version["metrics"]!.ToJsonString());
    }

    [Fact]
    public async Task AJobWhoseTimeRunsOutBeforeItsFirstEpochEndsFailsWithNothingRegistered()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(3000), "long.csv");
        var id = await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "never", task = new { kind = "forecast", inputLength = 96, horizon = 1 },
            model = new { hiddenSize = 64 }, training = new { epochs = 5, batchSize = 2, maxDuration = "PT1S" },
        });

        var job = await client.WaitForEndAsync(id, timeoutSeconds: 60);

        Assert.Equal("failed", job.State());
        Assert.Matches(
            @"^the job reached its time limit \(training\.maxDuration PT1S\) after \d+ of the first epoch's \d+ batches, before any epoch finished; " +
            @"there is no model to register\. Allow more time, or train a smaller model or fewer examples\.$", job["error"]!.GetValue<string>());
        Assert.Null(job["stoppedBy"]);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await client.GetAsync("/models/never")).StatusCode);
    }

    [Fact]
    public async Task AJobThatTrainsEveryEpochIsStoppedByItsEpochs()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(96), "short.csv");

        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "full", task = new { kind = "forecast", inputLength = 12, horizon = 1 },
            model = new { hiddenSize = 8 }, training = new { epochs = 2, earlyStoppingPatience = 0 },
        }));

        Assert.Equal(("succeeded", "epochs"), (job.State(), job["stoppedBy"]!.GetValue<string>()));
    }
}
