using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RnnService.Api.TrainingJobs;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Api.Tests.Security;
using RnnService.Domain.Jobs;
using RnnService.Training.Jobs;
using RnnService.Training.Storage;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// One client cannot fill the queue or hold every worker: its share of the queue is bounded (429 with Retry-After),
/// clients are claimed in turn, and a client at its running limit waits while others' jobs are claimed. On the real
/// job store (SQLite, or PostgreSQL with RNNSERVICE_TEST_STORE=postgres).
/// </summary>
public sealed class FairnessTests
{
    [Fact]
    public async Task AKeyWithItsShareOfTheQueueWaitingGets429NamingTheLimitWhileAnotherKeyIsServed()
    {
        using var service = RnnServiceFactory.With(Keys.Settings(new Dictionary<string, string>
        {
            ["Roles"] = "api", ["Jobs:MaxQueuedPerClient"] = "2", ["Jobs:RetryAfterSeconds"] = "30",
        }));
        var trainer = service.CreateClient().WithKey(Keys.Train);
        var admin = service.CreateClient().WithKey(Keys.Admin);
        var dataset = await trainer.UploadDatasetAsync(TestData.SeasonalCsv(48), "load.csv");
        var job = new { datasetId = dataset, modelName = "m", task = new { kind = "forecast" } };

        await trainer.CreateJobAsync(job);
        await trainer.CreateJobAsync(job);
        var refused = await trainer.PostJobAsync(job);
        var other = await admin.PostJobAsync(job);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(
            "The API key 'trainer' has 2 jobs waiting, as many as one client may (Jobs:MaxQueuedPerClient); nothing was stored. " +
            "Retry when one has started, or cancel one.", (await refused.ProblemAsync())["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Accepted, other.StatusCode);
        Assert.Equal(3, (await trainer.ListAsync("/training-jobs")).Count);
    }

    [Fact]
    public async Task ASearchHoldsItsMaxParallelPlacesInItsClientsShareUntilItIsCancelled()
    {
        // API only: no coordinator queues trials, so the places a search holds are all that stands for them.
        using var service = RnnServiceFactory.With(Keys.Settings(new Dictionary<string, string>
        {
            ["Roles"] = "api", ["Jobs:MaxQueuedPerClient"] = "3", ["Jobs:RetryAfterSeconds"] = "30",
        }));
        var trainer = service.CreateClient().WithKey(Keys.Train);
        var admin = service.CreateClient().WithKey(Keys.Admin);
        var dataset = await trainer.UploadDatasetAsync(TestData.SeasonalCsv(48), "load.csv");
        var job = new { datasetId = dataset, modelName = "m", task = new { kind = "forecast" } };
        object Search(int parallel) => new { datasetId = dataset, modelName = "s", task = new { kind = "forecast" }, search = new { maxTrials = 4, maxParallel = parallel } };

        var first = await trainer.PostAsJsonAsync("/tuning-jobs", Search(2));
        var second = await trainer.PostAsJsonAsync("/tuning-jobs", Search(2));
        var fits = await trainer.PostJobAsync(job);
        var full = await trainer.PostJobAsync(job);
        var others = await admin.PostAsJsonAsync("/tuning-jobs", Search(2));
        var wide = await trainer.PostAsJsonAsync("/tuning-jobs", Search(4));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        // Two places held and two more asked for: past the three one client may have waiting.
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal(
            "The API key 'trainer' has 2 jobs waiting (2 of them places its tuning jobs hold); a search holding 2 places " +
            "(search.maxParallel) would pass the 3 one client may (Jobs:MaxQueuedPerClient); nothing was stored. Retry when fewer " +
            "are waiting, or cancel one.", (await second.ProblemAsync())["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Accepted, fits.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, full.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, others.StatusCode);
        // A search that could never fit the client's share is a 400, not a 429 to retry.
        Assert.Equal(HttpStatusCode.BadRequest, wide.StatusCode);
        Assert.Contains("Jobs:MaxQueuedPerClient, 3", (await wide.ProblemAsync()).Errors("search.maxParallel"));
        Assert.Equal(2, (await trainer.ListAsync("/tuning-jobs")).Count); // the first and the other client's: refused ones stored nothing

        // Cancelled, a search gives its places back.
        var id = (await first.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Accepted, (await trainer.PostAsync($"/tuning-jobs/{id}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await trainer.PostJobAsync(job)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await trainer.PostJobAsync(job)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await trainer.PostJobAsync(job)).StatusCode);
    }

    [Fact]
    public async Task AsItsTrialsEndASearchHoldsOnlyThePlacesItsRemainingTrialsCanUse()
    {
        using var service = RnnServiceFactory.With(Keys.Settings(new Dictionary<string, string>
        {
            ["Roles"] = "api", ["Jobs:MaxQueuedPerClient"] = "3", ["Jobs:RetryAfterSeconds"] = "30",
        }));
        var trainer = service.CreateClient().WithKey(Keys.Train);
        var dataset = await trainer.UploadDatasetAsync(TestData.SeasonalCsv(48), "load.csv");
        var job = new { datasetId = dataset, modelName = "m", task = new { kind = "forecast" } };
        var search = await trainer.PostAsJsonAsync("/tuning-jobs",
            new { datasetId = dataset, modelName = "s", task = new { kind = "forecast" }, search = new { maxTrials = 4, maxParallel = 2 } });
        var id = (await search.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Accepted, search.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await trainer.PostJobAsync(job)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await trainer.PostJobAsync(job)).StatusCode); // 2 places and 1 job

        // Three of its four trials ended (written to the store, as its coordinator would have queued and a worker ended
        // them) and one still queued: one trial left, one place held, whatever maxParallel says.
        var contexts = service.Services.GetRequiredService<IDbContextFactory<RnnDbContext>>();
        await using (var context = await contexts.CreateDbContextAsync())
        {
            var now = DateTime.UtcNow;
            context.TrainingJobs.AddRange(new[] { JobState.Succeeded, JobState.Failed, JobState.Cancelled, JobState.Queued }.Select((state, n) =>
                new TrainingJobRecord
                {
                    Id = $"job_trial{n}", DatasetId = dataset, ModelName = id, Request = "{}", ClientId = "trainer", TuningJobId = id,
                    TrialNumber = n, State = state, CreatedAt = now, UpdatedAt = now, FinishedAt = state.IsFinal() ? now : null,
                }));
            await context.SaveChangesAsync();
        }
        var fits = await trainer.PostJobAsync(job);
        var full = await trainer.PostJobAsync(job);

        Assert.Equal(HttpStatusCode.Accepted, fits.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, full.StatusCode);
        Assert.StartsWith("The API key 'trainer' has 3 jobs waiting (1 of them places its tuning jobs hold)",
            (await full.ProblemAsync())["detail"]!.GetValue<string>());
        Assert.Equal(0, JobSubmission.Places(new SearchOptions { MaxTrials = 4, MaxParallel = 2 }, 4));
        Assert.Equal(2, JobSubmission.Places(new SearchOptions { MaxTrials = 4, MaxParallel = 2 }, 1));
    }

    [Fact]
    public async Task ClientsTakeTurnsSoOneClientsBacklogDoesNotHoldBackAnothersJob()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string> { ["Roles"] = "api" });
        var queue = service.Services.GetRequiredService<JobQueue>();
        foreach (var (id, client) in new[] { ("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("a4", "a"), ("b2", "b") })
            await queue.EnqueueAsync(Job(id, client));

        var order = new List<string>();
        while (await queue.TryClaimAsync("w", TimeSpan.FromMinutes(1)) is { } claimed) order.Add(claimed.Id);

        // Each claim takes the oldest job of the client with the fewest jobs running or queued ahead of it.
        Assert.Equal(["a1", "b1", "a2", "b2", "a3", "a4"], order);
    }

    [Fact]
    public async Task AClientAtItsRunningLimitWaitsWhileOtherClientsJobsAreClaimed()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string> { ["Roles"] = "api", ["Jobs:MaxRunningPerClient"] = "1" });
        var queue = service.Services.GetRequiredService<JobQueue>();
        foreach (var (id, client) in new[] { ("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b") }) await queue.EnqueueAsync(Job(id, client));

        var first = await queue.TryClaimAsync("w1", TimeSpan.FromMinutes(1));
        var second = await queue.TryClaimAsync("w2", TimeSpan.FromMinutes(1));
        var third = await queue.TryClaimAsync("w3", TimeSpan.FromMinutes(1));
        await queue.FinishAsync("a1", "w1", JobState.Failed, null, "done");
        var fourth = await queue.TryClaimAsync("w3", TimeSpan.FromMinutes(1));

        Assert.Equal(("a1", "b1"), (first?.Id, second?.Id));
        Assert.Null(third);  // a2 waits: client a has a job running, and b has none queued
        Assert.Equal("a2", fourth?.Id);
    }

    private static TrainingJobRecord Job(string id, string client) =>
        new() { Id = id, DatasetId = "ds_x", ModelName = "m", Request = "{}", ClientId = client };
}
