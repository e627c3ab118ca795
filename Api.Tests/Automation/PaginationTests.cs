using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Training.Storage;

namespace RnnService.Api.Tests.Automation;

/// <summary>
/// Every list pages with <c>limit</c> and <c>cursor</c>, newest first: 2,500 jobs (many created in the same microsecond)
/// come back each exactly once, in order, while more are added between pages.
/// </summary>
public sealed class PaginationTests(NoWorkerServiceFactory factory) : IClassFixture<NoWorkerServiceFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    private async Task<JsonObject> PageAsync(string path) => (await client.GetFromJsonAsync<JsonObject>(path))!;

    /// <summary>Jobs written straight to the store (as many as this would take minutes through the API), from a real job's request.</summary>
    private async Task<List<string>> AddJobsAsync(int count, DateTime from, string request)
    {
        var contexts = factory.Services.GetRequiredService<IDbContextFactory<RnnDbContext>>();
        await using var context = await contexts.CreateDbContextAsync();
        var jobs = Enumerable.Range(0, count).Select(i => new TrainingJobRecord
        {
            // Three at a time share a creation time: the id orders them.
            Id = $"job_{Guid.NewGuid():N}"[..20], DatasetId = "ds", ModelName = "paged", Request = request,
            CreatedAt = from.AddTicks(i / 3 * 10), UpdatedAt = from,
        }).ToList();
        context.TrainingJobs.AddRange(jobs);
        await context.SaveChangesAsync();
        return jobs.Select(j => j.Id).ToList();
    }

    [Fact]
    public async Task TwoThousandFiveHundredJobsComeBackOnceEachInOrderWhileMoreAreAdded()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "paged.csv");
        var real = await client.CreateJobAsync(new { datasetId = dataset, modelName = "paged", task = new { kind = "forecast" } });
        var request = (await client.GetJobAsync(real))["request"]!.ToJsonString();
        var start = DateTime.UtcNow.AddDays(-1);
        var stored = await AddJobsAsync(2_499, start, request);
        stored.Add(real);

        var seen = new List<string>();
        var times = new List<DateTime>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await PageAsync($"/training-jobs?limit=1000{(cursor is null ? "" : $"&cursor={cursor}")}");
            seen.AddRange(page["items"]!.AsArray().Select(j => j!["id"]!.GetValue<string>()));
            times.AddRange(page["items"]!.AsArray().Select(j => j!["createdAt"]!.GetValue<DateTime>()));
            cursor = page["next"]?.GetValue<string>();
            pages++;
            // Newer jobs arriving between pages belong before the first page, not in the pages still to come.
            await AddJobsAsync(5, DateTime.UtcNow, request);
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(2_500, seen.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(stored.Order(), seen.Order());
        Assert.Equal(times.OrderDescending(), times);
    }

    [Fact]
    public async Task DatasetsModelsAndTuningJobsPageToo()
    {
        var first = await client.UploadDatasetAsync(TestData.SeasonalCsv(36), "first.csv");
        var second = await client.UploadDatasetAsync(TestData.SeasonalCsv(36), "second.csv");

        var page = await PageAsync("/datasets?limit=1");
        Assert.Equal(second, page["items"]![0]!["id"]!.GetValue<string>());
        var next = await PageAsync($"/datasets?limit=1&cursor={page["next"]!.GetValue<string>()}");
        Assert.Equal(first, next["items"]![0]!["id"]!.GetValue<string>());

        foreach (var path in new[] { "/models?limit=1", "/tuning-jobs?limit=1" })
        {
            var empty = await PageAsync(path);
            Assert.Empty(empty["items"]!.AsArray());
            // The last page says so with an explicit null, as the contract writes it.
            Assert.True(empty.ContainsKey("next"));
            Assert.Null(empty["next"]);
        }
    }

    [Theory]
    [InlineData("/training-jobs?cursor=not-a-cursor", "cursor")]
    [InlineData("/datasets?cursor=bm90IGEgY3Vyc29y", "cursor")]
    [InlineData("/models?limit=0", "limit")]
    [InlineData("/tuning-jobs?limit=1001", "limit")]
    public async Task ABadCursorOrLimitIsA400NamingIt(string path, string field)
    {
        var answer = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.NotNull((await answer.ProblemAsync())["errors"]![field]);
    }
}
