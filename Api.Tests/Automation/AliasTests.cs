using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Automation;

/// <summary>
/// Model aliases: set, moved and deleted over HTTP; <c>name@alias</c> serves the version the alias points to, and a
/// request in flight while it moves is answered wholly by one version; a version an alias points to is not deleted.
/// </summary>
public sealed class AliasTests(RnnServiceFactory factory) : IClassFixture<RnnServiceFactory>, IAsyncLifetime
{
    private readonly HttpClient client = factory.CreateClient();
    private static readonly double[][][] Inputs = [[[112], [118], [132], [129], [121], [135], [148], [148], [136], [119], [104], [118]]];

    public async Task InitializeAsync()
    {
        if ((await client.GetAsync("/models/aliased")).IsSuccessStatusCode) return;
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "aliased.csv");
        foreach (var seed in new[] { 1, 2 })
        {
            var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
            {
                datasetId = dataset, modelName = "aliased",
                task = new { kind = "forecast", inputLength = 12, horizon = 3, season = 12, scaling = "window", calendarFeatures = "none" },
                model = new { cell = "gru", hiddenSize = 4 },
                training = new { epochs = 2, batchSize = 16, seed },
            }));
            Assert.Equal("succeeded", job.State());
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private Task<HttpResponseMessage> PutAliasAsync(string alias, object body) => client.PutAsJsonAsync($"/models/aliased/aliases/{alias}", body);

    private async Task<JsonObject> PredictAsync(string model)
    {
        var response = await client.PostAsJsonAsync("/predict", new { model, inputs = Inputs });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task AnAliasServesItsVersionMovesAndKeepsItsVersionFromDeletion()
    {
        var set = await PutAliasAsync("champion", new { version = 1 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(1, (await set.Content.ReadFromJsonAsync<JsonObject>())!["version"]!.GetValue<int>());

        var model = (await client.GetFromJsonAsync<JsonObject>("/models/aliased"))!;
        Assert.Equal(2, model["aliases"]!["latest"]!.GetValue<int>());
        Assert.Equal(1, model["aliases"]!["champion"]!.GetValue<int>());
        Assert.Equal(1, (await PredictAsync("aliased@champion"))["version"]!.GetValue<int>());
        Assert.Equal((await PredictAsync("aliased:1"))["outputs"]!.ToJsonString(), (await PredictAsync("aliased@champion"))["outputs"]!.ToJsonString());
        Assert.Equal(2, (await PredictAsync("aliased@latest"))["version"]!.GetValue<int>());

        var blocked = await client.DeleteAsync("/models/aliased/versions/1");
        Assert.Equal(HttpStatusCode.Conflict, blocked.StatusCode);
        Assert.Contains("aliased@champion", (await blocked.ProblemAsync())["detail"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await PutAliasAsync("champion", new { version = 2 })).StatusCode);
        Assert.Equal(2, (await PredictAsync("aliased@champion"))["version"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/models/aliased/aliases/champion")).StatusCode);
        var gone = await client.PostAsJsonAsync("/predict", new { model = "aliased@champion", inputs = Inputs });
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Contains("no alias 'champion'", (await gone.ProblemAsync())["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/models/aliased/aliases/champion")).StatusCode);
    }

    [Fact]
    public async Task RequestsWhileAnAliasFlipsAreEachAnsweredWhollyByOneVersion()
    {
        var expected = new Dictionary<int, string>
        {
            [1] = (await PredictAsync("aliased:1"))["outputs"]!.ToJsonString(),
            [2] = (await PredictAsync("aliased:2"))["outputs"]!.ToJsonString(),
        };
        Assert.NotEqual(expected[1], expected[2]);
        Assert.Equal(HttpStatusCode.OK, (await PutAliasAsync("flipping", new { version = 1 })).StatusCode);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var flipper = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await PutAliasAsync("flipping", new { version = 1 + i % 2 });
                await Task.Delay(20);
            }
        });
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var seen = new List<JsonObject>();
            while (!stop.IsCancellationRequested)
            {
                seen.Add(await PredictAsync("aliased@flipping"));
                // Paced under the service's default rate limit (1,000 requests a second per client), which a tiny model
                // on a quiet machine would otherwise pass.
                await Task.Delay(10);
            }
            return seen;
        })));
        await flipper;

        var all = answers.SelectMany(a => a).ToList();
        Assert.All(all, answer => Assert.Equal(expected[answer["version"]!.GetValue<int>()], answer["outputs"]!.ToJsonString()));
        Assert.Equal([1, 2], all.Select(a => a["version"]!.GetValue<int>()).Distinct().Order());
    }

    [Theory]
    [InlineData("1st", """{"version":1}""", "alias")]
    [InlineData("latest", """{"version":1}""", "alias")]
    [InlineData("staging", """{"version":9}""", "version")]
    [InlineData("staging", """{"version":0}""", "version")]
    [InlineData("staging", """{}""", "version")]
    [InlineData("staging", """{"verison":1}""", "verison")]
    public async Task ABadAliasOrVersionIsA400NamingIt(string alias, string body, string field)
    {
        var response = await client.PutAsync($"/models/aliased/aliases/{alias}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.ProblemAsync())["errors"]![field]);
    }

    [Fact]
    public async Task AnAliasOfAModelThatDoesNotExistIsA404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await client.PutAsJsonAsync("/models/nothing/aliases/champion", new { version = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/predict", new { model = "aliased@", inputs = Inputs })).StatusCode);
    }
}
