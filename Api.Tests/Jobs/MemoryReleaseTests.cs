using System.Text.RegularExpressions;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// After a job ends, in any state, the process's resident memory returns to within 10% (or 100 MiB) of where it was
/// before the job; an allocation the engine cannot make fails the job with our message, frees what the job had, and
/// leaves the process serving. The service runs as its own process, so that its memory is the job's alone.
/// </summary>
public sealed class MemoryReleaseTests : IDisposable
{
    private const long MiB = 1 << 20;

    private readonly string dataDirectory = Directory.CreateTempSubdirectory("rnnservice-memory-").FullName;

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);

    /// <summary>
    /// LSTM 1 × 64 over batches of 1,024 windows of 200 steps: about 1 GB at its peak, nearly all of it a step's
    /// activations. Window scaling, so that the first engine call is a training step (seasonal scaling evaluates the
    /// untrained model first, as epoch 0).
    /// </summary>
    private static object WideJob(string dataset, string name, int epochs) => new
    {
        datasetId = dataset, modelName = name,
        task = new { kind = "forecast", inputLength = 200, horizon = 1, calendarFeatures = "none", scaling = "window" },
        model = new { hiddenSize = 64 }, training = new { epochs, batchSize = 1024, validationFraction = 0.1, earlyStoppingPatience = 0 },
    };

    [Fact]
    public async Task AJobsMemoryIsGivenBackWhenItSucceedsAndWhenItIsCancelled()
    {
        using var service = ServiceProcess.Start(dataDirectory);
        var client = await service.ReadyClientAsync();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(3000), "series.csv");

        foreach (var (name, cancel) in new[] { ("finished", false), ("cancelled", true) })
        {
            await Task.Delay(500);
            var before = service.ResidentBytes;
            service.ResetPeak();
            var id = await client.CreateJobAsync(WideJob(dataset, name, cancel ? 100 : 1));
            var estimate = (await client.GetJobAsync(id))["estimate"]!["peakBytes"]!.GetValue<long>();
            if (cancel)
            {
                await client.WaitForJobAsync(id, job => job["progress"]?["epoch"]?.GetValue<int>() >= 1);
                await client.PostAsync($"/training-jobs/{id}/cancel", null);
            }
            var done = await client.WaitForEndAsync(id, timeoutSeconds: 120);
            await WaitForReleaseAsync(service, id);
            var peak = service.PeakBytes - before;
            var after = service.ResidentBytes;

            Assert.Equal(cancel ? "cancelled" : "succeeded", done.State());
            // The job really used its memory, so that giving it back means something.
            Assert.True(peak > estimate / 2, $"{name}: the peak rose {peak / MiB} MiB; the estimate was {estimate / MiB} MiB");
            Assert.True(after - before <= Math.Max(before / 10, 100 * MiB),
                $"{name}: {before / MiB} MiB before the job, {after / MiB} MiB after it (its peak: +{peak / MiB} MiB)");
        }
    }

    [Fact]
    public async Task AnAllocationTheEngineCannotMakeFailsTheJobWithOurMessageAndFreesWhatItHad()
    {
        using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["Storage__DataDirectory"] = dataDirectory,
            // A modest, fixed address space for the runtime (its heap reserves a range in proportion), and two malloc
            // arenas, so that the limit below leaves the engine a known room.
            ["DOTNET_GCHeapHardLimit"] = "0x20000000",
            ["MALLOC_ARENA_MAX"] = "2",
        });
        var client = await service.ReadyClientAsync();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(3000), "series.csv");
        // 128 MiB more address space from now: the model, its data and copies fit; a step's first large tensor (the input
        // projection of a batch, 200 MiB) does not.
        service.LimitAddressSpace(service.VirtualBytes + 128 * MiB);
        await Task.Delay(500);
        var before = service.ResidentBytes;

        var failed = await ExplainedAsync(service, async () =>
            await client.WaitForEndAsync(await client.CreateJobAsync(WideJob(dataset, "too-big", 1)), timeoutSeconds: 120));
        await WaitForReleaseAsync(service, failed["id"]!.GetValue<string>());
        var after = service.ResidentBytes;
        service.LimitAddressSpace(null);
        var small = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "small", task = new { kind = "forecast", inputLength = 12, horizon = 1, calendarFeatures = "none" },
            model = new { hiddenSize = 8 }, training = new { epochs = 1 },
        }), timeoutSeconds: 120);

        Assert.Equal("failed", failed.State());
        Assert.Matches(new Regex(@"^the engine could not allocate \d+ bytes for a training step: the machine has too little memory free$"),
            failed["error"]!.GetValue<string>());
        Assert.True(after - before <= Math.Max(before / 10, 100 * MiB), $"{before / MiB} MiB before the job, {after / MiB} MiB after it");
        Assert.Equal("succeeded", small.State());
    }

    /// <summary>Runs <paramref name="step"/>; when it throws (the process went away), fails with what the process said last.</summary>
    private static async Task<T> ExplainedAsync<T>(ServiceProcess service, Func<Task<T>> step)
    {
        try
        {
            return await step();
        }
        catch (HttpRequestException exception)
        {
            Assert.Fail($"{exception.Message}; the service said:\n{service.Output}");
            throw;
        }
        catch (Xunit.Sdk.XunitException exception)
        {
            Assert.Fail($"{exception.Message}; the service said:\n{service.Output}");
            throw;
        }
    }

    /// <summary>The worker hands a job's memory back just after it records the final state, and then says so in its log.</summary>
    private static async Task WaitForReleaseAsync(ServiceProcess service, string job)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!service.Lines.Any(line => line.Contains($"Job {job}: resident memory")))
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"the worker did not report job {job}'s memory:\n{service.Output}");
            await Task.Delay(100);
        }
    }
}
