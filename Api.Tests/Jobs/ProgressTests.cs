using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// A job's progress inside an epoch: batches done of all, the throughput and the time left, in <c>progress</c> and as
/// <c>progress</c> events, and the figures an epoch ends with.
/// </summary>
public sealed class ProgressTests
{
    [Fact]
    public async Task ALongEpochReportsItsBatchesThroughputAndTimeLeftBeforeItEnds()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string> { ["Worker:ProgressMilliseconds"] = "100" });
        var client = service.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(480), "progress.csv");
        // One window a batch of 96 steps: some three hundred batches an epoch, a second or more even on a quiet machine, so
        // that the events stream (read every 250 ms) sees the first epoch under way. (With 240 steps the fused training
        // layers finished the first epoch before its progress was seen, once in a CI run; with windows of 24 steps, once
        // on a quiet one.)
        var id = await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "progress",
            task = new { kind = "forecast", inputLength = 96, horizon = 1, calendarFeatures = "none" },
            model = new { hiddenSize = 64, numLayers = 2 },
            training = new { epochs = 2, batchSize = 1, earlyStoppingPatience = 0 },
        });

        var (_, events) = await client.ReadEventsAsync($"/training-jobs/{id}/events");

        var inside = events.Where(e => e.Name == "progress").Select(e => e.Data["progress"]!.AsObject()).ToList();
        Assert.NotEmpty(inside);
        var first = inside.Where(p => p["epoch"]!.GetValue<int>() == 0).ToList();
        Assert.NotEmpty(first);
        foreach (var progress in inside)
        {
            var batch = progress["batch"]!.GetValue<int>();
            var batches = progress["batches"]!.GetValue<int>();
            Assert.InRange(batch, 1, batches);
            Assert.True(batches >= 100, $"{batches} batches an epoch");
            Assert.True(progress["sequencesPerSecond"]!.GetValue<double>() > 0);
            Assert.True(progress["epochEtaSeconds"]!.GetValue<double>() >= 0);
            // The job's time left holds the epoch's and, in the first epoch, the whole second one.
            Assert.True(progress["etaSeconds"]!.GetValue<double>() >= progress["epochEtaSeconds"]!.GetValue<double>() - 0.01);
        }
        // Before the first epoch ends there is no loss yet.
        Assert.Null(first[0]["trainLoss"]);
        Assert.Equal(first.Select(p => p["batch"]!.GetValue<int>()).Order(), first.Select(p => p["batch"]!.GetValue<int>()));
        Assert.True(first[0]["etaSeconds"]!.GetValue<double>() > first[0]["epochEtaSeconds"]!.GetValue<double>());

        Assert.Equal([1, 2], events.Where(e => e.Name == "epoch").Select(e => e.Data["epoch"]!["epoch"]!.GetValue<int>()));
        // The figures the job ended with: its last epoch's, nothing left.
        var job = await client.GetJobAsync(id);
        Assert.Equal("succeeded", job.State());
        var final = job["progress"]!;
        Assert.Equal(2, final["epoch"]!.GetValue<int>());
        Assert.Equal(0, final["batch"]!.GetValue<int>());
        Assert.Equal(first[0]["batches"]!.GetValue<int>(), final["batches"]!.GetValue<int>());
        Assert.True(final["trainLoss"]!.GetValue<double>() > 0);
        Assert.True(final["sequencesPerSecond"]!.GetValue<double>() > 0);
        Assert.Equal(0, final["etaSeconds"]!.GetValue<double>());
        Assert.Equal(0, final["epochEtaSeconds"]!.GetValue<double>());
    }
}
