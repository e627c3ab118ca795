using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Automation;

/// <summary>
/// <c>Idempotency-Key</c>: a repeat gets the first answer and creates nothing, whether it comes after the first, at the same
/// moment as 49 others, or to another replica on the same store; the same key with another body is a 422; a request that
/// failed leaves its key free.
/// </summary>
public sealed class IdempotencyTests(NoWorkerServiceFactory factory) : IClassFixture<NoWorkerServiceFactory>, IAsyncLifetime
{
    private readonly HttpClient client = factory.CreateClient();
    private string dataset = "";

    public async Task InitializeAsync() => dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "keys.csv");

    public Task DisposeAsync() => Task.CompletedTask;

    private static HttpRequestMessage Post(string path, string key, HttpContent content) =>
        new(HttpMethod.Post, path) { Content = content, Headers = { { "Idempotency-Key", key } } };

    private HttpRequestMessage Job(string key, string modelName = "keyed") =>
        Post("/training-jobs", key, JsonContent.Create(new { datasetId = dataset, modelName, task = new { kind = "forecast" } }));

    private async Task<int> JobsNamedAsync(string modelName) =>
        (await client.ListAsync("/training-jobs?limit=1000")).Count(j => j!["request"]!["modelName"]!.GetValue<string>() == modelName);

    [Fact]
    public async Task ARepeatGetsTheFirstAnswerAndQueuesNothing()
    {
        var key = Guid.NewGuid().ToString();

        var first = await client.SendAsync(Job(key, "repeat"));
        var second = await client.SendAsync(Job(key, "repeat"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, await JobsNamedAsync("repeat"));
    }

    [Fact]
    public async Task TheSameKeyWithAnotherBodyIsA422()
    {
        var key = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(Job(key, "first-body"))).StatusCode);

        var other = await client.SendAsync(Job(key, "second-body"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Contains(key, (await other.ProblemAsync())["detail"]!.GetValue<string>());
        Assert.Equal(0, await JobsNamedAsync("second-body"));
    }

    [Fact]
    public async Task FiftyRetriesAtOnceQueueOneJob()
    {
        var key = Guid.NewGuid().ToString();

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => client.SendAsync(Job(key, "storm")))));

        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode));
        var ids = await Task.WhenAll(answers.Select(async a => (await a.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>()));
        Assert.Single(ids.Distinct());
        Assert.Equal(49, answers.Count(a => a.Headers.Contains("Idempotent-Replayed")));
        Assert.Equal(1, await JobsNamedAsync("storm"));
    }

    [Fact]
    public async Task AFailedRequestLeavesItsKeyFree()
    {
        var key = Guid.NewGuid().ToString();
        var failed = await client.SendAsync(Post("/training-jobs", key,
            JsonContent.Create(new { datasetId = "ds_none", modelName = "retried", task = new { kind = "forecast" } })));
        Assert.Equal(HttpStatusCode.BadRequest, failed.StatusCode);

        var retried = await client.SendAsync(Job(key, "retried"));

        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal(1, await JobsNamedAsync("retried"));
    }

    [Fact]
    public async Task AnUploadRetriedWithANewBoundaryStoresOneDataset()
    {
        var key = Guid.NewGuid().ToString();
        HttpRequestMessage Upload()
        {
            // HttpClient draws a new multipart boundary for every form, as a retrying client does.
            var form = new MultipartFormDataContent();
            form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(TestData.SeasonalCsv(36))), "file", "retried.csv");
            form.Add(new StringContent("retried-upload"), "name");
            return Post("/datasets", key, form);
        }

        var first = await client.SendAsync(Upload());
        var second = await client.SendAsync(Upload());

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal((await first.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>(),
            (await second.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
        Assert.Single(await client.ListAsync("/datasets"), d => d!["name"]!.GetValue<string>() == "retried-upload");
    }

    [Fact]
    public async Task AnotherReplicaOnTheSameStoreGivesTheSameAnswer()
    {
        using var replica = RnnServiceFactory.With(new Dictionary<string, string>(factory.StoreSettings) { ["Roles"] = "api" });
        var other = replica.CreateClient();
        var key = Guid.NewGuid().ToString();

        var first = await client.SendAsync(Job(key, "replicas"));
        var again = await other.SendAsync(Job(key, "replicas"));

        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(1, await JobsNamedAsync("replicas"));
    }

    [Theory]
    [InlineData("with space")]
    [InlineData("é")]
    public async Task AKeyThatIsNotOneVisibleAsciiWordIsA400(string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/training-jobs") { Content = JsonContent.Create(new { }) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);

        var answer = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Contains("Idempotency-Key", (await answer.ProblemAsync())["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheOpenApiDocumentOffersTheHeaderOnEveryCreatingPost()
    {
        var paths = (await client.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!["paths"]!;

        foreach (var path in new[] { "/datasets", "/training-jobs", "/tuning-jobs", "/models/{name}/versions" })
            Assert.Contains(paths[path]!["post"]!["parameters"]!.AsArray(),
                p => p!["name"]!.GetValue<string>() == "Idempotency-Key" && p["in"]!.GetValue<string>() == "header");
        Assert.DoesNotContain(paths["/predict"]!["post"]!["parameters"]?.AsArray() ?? [], p => p!["name"]!.GetValue<string>() == "Idempotency-Key");
    }

    [Fact]
    public async Task AnEndpointThatTakesNoKeyIgnoresTheHeader()
    {
        // /predict creates nothing: a key there is not checked, not claimed and its answer not kept.
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = JsonContent.Create(new { model = "none", inputs = new[] { new[] { 1.0 } } }) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", "with space");

        var answer = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
        Assert.False(answer.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task ALongKeyIsA400()
    {
        var answer = await client.SendAsync(Job(new string('k', 256)));

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
    }
}
