using System.Text.Json.Nodes;
using System.Net.Http.Json;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// The service as its own process, killed (SIGKILL, nothing runs on the way out) while it trains a job, then started
/// again on the same data directory: the job resumes from its last checkpoint and registers one version.
/// </summary>
public sealed class ResumeAfterKillTests : IDisposable
{
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("rnnservice-kill-").FullName;

    [Fact]
    public async Task AJobWhoseProcessIsKilledResumesFromItsCheckpointAndRegistersOneVersion()
    {
        string jobId;
        int epochAtKill;
        using (var first = ServiceProcess.Start(dataDirectory))
        {
            var client = await first.ReadyClientAsync();
            var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(480), "long.csv");
            jobId = await client.CreateJobAsync(new
            {
                datasetId = dataset, modelName = "survivor",
                task = new { kind = "forecast", inputLength = 24, horizon = 6 },
                model = new { hiddenSize = 24 },
                training = new { epochs = 20, batchSize = 8, earlyStoppingPatience = 0 },
            });
            var running = await client.WaitForJobAsync(jobId, job => job["progress"]?["epoch"]?.GetValue<int>() >= 3);
            epochAtKill = running["progress"]!["epoch"]!.GetValue<int>();
            first.Kill();
            Assert.Equal("running", running.State());
        }

        using var second = ServiceProcess.Start(dataDirectory);
        var restarted = await second.ReadyClientAsync();
        var done = await restarted.WaitForEndAsync(jobId, timeoutSeconds: 180);

        Assert.Equal("succeeded", done.State());
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
        var history = done["history"]!.AsArray().Select(e => (Epoch: e!["epoch"]!.GetValue<int>(), Attempt: e["attempt"]!.GetValue<int>())).ToList();
        Assert.Equal(Enumerable.Range(1, 20), history.Select(e => e.Epoch));
        // Epochs up to the last checkpoint of the killed process were not trained again.
        var resumedAt = history.First(e => e.Attempt == 2).Epoch;
        Assert.True(resumedAt > epochAtKill, $"resumed at epoch {resumedAt}, but epoch {epochAtKill} was done before the kill");
        Assert.All(history.Where(e => e.Epoch < resumedAt), e => Assert.Equal(1, e.Attempt));
        Assert.All(history.Where(e => e.Epoch >= resumedAt), e => Assert.Equal(2, e.Attempt));
        var model = (await restarted.GetFromJsonAsync<JsonObject>("/models/survivor"))!;
        Assert.Single(model["versions"]!.AsArray());
        Assert.Equal(jobId, (await restarted.GetFromJsonAsync<JsonObject>("/models/survivor/versions/1"))!["source"]!.GetValue<string>());
    }

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);
}
