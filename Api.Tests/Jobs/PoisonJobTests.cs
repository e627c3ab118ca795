using RnnService.Api.Tests.Infrastructure;
using RnnService.Training.Jobs;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// A job that brings its worker down is not claimed for ever: the service runs as its own process and is killed with
/// SIGKILL during the same job, again and again. Killed Jobs:MaxAttempts (3) times in a row before the job wrote a new
/// checkpoint, the job ends failed saying so and the queue moves on; killed as often, but after a new checkpoint each
/// time, the job goes on and succeeds.
/// </summary>
public sealed class PoisonJobTests : IDisposable
{
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("rnnservice-poison-").FullName;

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);

    [Fact]
    public async Task AJobWhoseWorkerIsKilledThreeTimesBeforeItsFirstCheckpointFailsAndTheNextJobRuns()
    {
        var service = ServiceProcess.Start(dataDirectory);
        try
        {
            var client = await service.ReadyClientAsync();
            var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(3000), "long.csv");
            // Its first epoch takes seconds: every kill below comes before its first checkpoint.
            var poison = await client.CreateJobAsync(new
            {
                datasetId = dataset, modelName = "poison", task = new { kind = "forecast", inputLength = 96, horizon = 1 },
                model = new { hiddenSize = 128 }, training = new { epochs = 2, batchSize = 4 },
            });
            var next = await client.CreateJobAsync(new
            {
                datasetId = dataset, modelName = "next", task = new { kind = "forecast", inputLength = 6, horizon = 1 },
                model = new { hiddenSize = 4 }, training = new { epochs = 1 },
            });

            for (var kill = 1; kill <= 3; kill++)
            {
                var claimed = await client.WaitForJobAsync(poison, job => job.State() == "running" && job["attempts"]!.GetValue<int>() == kill);
                Assert.Equal(0, claimed["progress"]?["epoch"]?.GetValue<int>() ?? 0);
                service.Kill();
                service.Dispose();
                service = ServiceProcess.Start(dataDirectory);
                client = await service.ReadyClientAsync();
            }

            var failed = await client.WaitForEndAsync(poison, timeoutSeconds: 60);
            var ran = await client.WaitForEndAsync(next, timeoutSeconds: 120);

            Assert.Equal("failed", failed.State());
            Assert.Equal(3, failed["attempts"]!.GetValue<int>());
            Assert.Equal(JobQueue.PoisonMessage(3), failed["error"]!.GetValue<string>());
            Assert.Empty(failed["history"]!.AsArray());
            Assert.Equal("succeeded", ran.State());
            Assert.Equal(1, ran["attempts"]!.GetValue<int>());
            Assert.Contains(service.Lines, line => line.Contains($"Job {poison} failed: its worker died under it 3 times in a row"));
        }
        finally
        {
            service.Dispose();
        }
    }

    [Fact]
    public async Task AJobThatCheckpointsBetweenKillsKeepsGoingAndSucceeds()
    {
        var service = ServiceProcess.Start(dataDirectory);
        try
        {
            var client = await service.ReadyClientAsync();
            // Epochs long enough (a few hundred batches each) that four attempts, each killed after its first epoch is
            // seen, cannot finish all sixteen between a poll and the kill.
            var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(2400), "series.csv");
            var job = await client.CreateJobAsync(new
            {
                datasetId = dataset, modelName = "progress", task = new { kind = "forecast", inputLength = 24, horizon = 6 },
                model = new { hiddenSize = 24 }, training = new { epochs = 16, batchSize = 8, earlyStoppingPatience = 0 },
            });

            // Killed four times, more than Jobs:MaxAttempts, each time after the attempt checkpointed an epoch of its own:
            // one past the epoch the job stood at when the attempt claimed it (an attempt may run on past the epoch the
            // test waits for before the kill lands, so a fixed epoch number could be one the next attempt starts with).
            for (var kill = 1; kill <= 4; kill++)
            {
                var attempt = kill;
                var claimed = await client.WaitForJobAsync(job, j => j["attempts"]!.GetValue<int>() == attempt);
                var from = claimed["progress"]?["epoch"]?.GetValue<int>() ?? 0;
                var checkpointed = await client.WaitForJobAsync(job, j => j["attempts"]!.GetValue<int>() == attempt && j["progress"]?["epoch"]?.GetValue<int>() > from);
                Assert.True(checkpointed.State() == "running", $"the job ended before kill {kill}: {checkpointed.ToJsonString()}");
                service.Kill();
                service.Dispose();
                service = ServiceProcess.Start(dataDirectory);
                client = await service.ReadyClientAsync();
            }

            var done = await client.WaitForEndAsync(job, timeoutSeconds: 120);

            Assert.True(done.State() == "succeeded", done["error"]?.ToJsonString());
            Assert.Equal(5, done["attempts"]!.GetValue<int>());
            Assert.Equal(Enumerable.Range(1, 16), done["history"]!.AsArray().Select(entry => entry!["epoch"]!.GetValue<int>()));
        }
        finally
        {
            service.Dispose();
        }
    }
}
