using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Console;

/// <summary>Small models trained for real, for what the console reads: evaluations, previews, states and their matches.</summary>
public sealed class ConsoleModels : IAsyncLifetime
{
    private readonly RnnServiceFactory factory = new();

    public HttpClient Client { get; private set; } = null!;

    public string Reviews { get; private set; } = "";

    public string Load { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Client = factory.CreateClient();
        Reviews = await Client.UploadDatasetAsync(TestData.SentimentJsonl(), "reviews.jsonl");
        Load = await Client.UploadDatasetAsync(TestData.SeasonalCsv(), "load.csv");
        var signs = await Client.UploadDatasetAsync(TestData.SignSequencesJsonl(), "signs.jsonl");
        string[] jobs =
        [
            await Client.CreateJobAsync(new
            {
                datasetId = Reviews, modelName = "reviews", task = new { kind = "classification" },
                model = new { cell = "gru", hiddenSize = 12, embeddingDim = 8, bidirectional = false }, training = new { epochs = 8, learningRate = 0.02 },
            }),
            await Client.CreateJobAsync(new
            {
                datasetId = Load, modelName = "load", task = new { kind = "forecast", inputLength = 12, horizon = 3, quantiles = new[] { 0.1, 0.5, 0.9 } },
                model = new { hiddenSize = 8 }, training = new { epochs = 3 },
            }),
            await Client.CreateJobAsync(new
            {
                datasetId = signs, modelName = "signs", task = new { kind = "classification" },
                model = new { hiddenSize = 8, bidirectional = true }, training = new { epochs = 3 },
            }),
        ];
        foreach (var job in jobs) Assert.Equal("succeeded", (await Client.WaitForEndAsync(job)).State());
    }

    public Task DisposeAsync()
    {
        factory.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class ConsoleApiTests(ConsoleModels models) : IClassFixture<ConsoleModels>
{
    private readonly HttpClient client = models.Client;

    private async Task<JsonObject> GetAsync(string path)
    {
        var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string path, object body)
    {
        var response = await client.PostAsJsonAsync(path, body);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    [Fact]
    public async Task AClassifiersEvaluationIsAConfusionMatrixThatAgreesWithItsAccuracy()
    {
        var evaluation = await GetAsync("/models/reviews/versions/1/evaluation");
        var metrics = (await GetAsync("/models/reviews/versions/1"))["metrics"]!;

        Assert.Equal("classes", evaluation["kind"]!.GetValue<string>());
        Assert.Equal(["0", "1"], evaluation["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        var matrix = evaluation["confusion"]!.AsArray().Select(row => row!.AsArray().Select(c => c!.GetValue<long>()).ToArray()).ToArray();
        Assert.Equal(2, matrix.Length);
        var total = matrix.Sum(row => row.Sum());
        Assert.Equal(evaluation["count"]!.GetValue<long>(), total);
        Assert.Equal(metrics["accuracy"]!.GetValue<double>(), (matrix[0][0] + matrix[1][1]) / (double)total, 9);
    }

    [Fact]
    public async Task AForecastersEvaluationHoldsItsValidationWindowsWithOrderedBandsAndTheDatasValues()
    {
        var evaluation = await GetAsync("/models/load/versions/1/evaluation");
        var metrics = (await GetAsync("/models/load/versions/1"))["metrics"]!;
        var load = TestData.SeasonalCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(line => double.Parse(line.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        Assert.Equal("forecast", evaluation["kind"]!.GetValue<string>());
        var windows = evaluation["windows"]!.AsArray();
        // Few enough windows that all are kept: the 80% interval's coverage over them is the version's coverage80.
        Assert.Equal(evaluation["count"]!.GetValue<int>(), windows.Count);
        long inside = 0, values = 0;
        var windowMae = new List<double>();
        foreach (var window in windows)
        {
            var start = window!["start"]!.GetValue<int>();
            var history = window["history"]!.AsArray().Select(s => s![0]!.GetValue<double>()).ToArray();
            var actual = window["actual"]!.AsArray().Select(s => s![0]!.GetValue<double>()).ToArray();
            Assert.Equal(12, history.Length);
            Assert.Equal(load.Skip(start).Take(12), history);
            Assert.Equal(load.Skip(start + 12).Take(3), actual);
            Assert.StartsWith($"{1990 + start / 12}-{start % 12 + 1:00}-01", window["startTime"]!.GetValue<string>());
            var low = window["quantiles"]!["0.1"]!.AsArray().Select(s => s![0]!.GetValue<double>()).ToArray();
            var middle = window["quantiles"]!["0.5"]!.AsArray().Select(s => s![0]!.GetValue<double>()).ToArray();
            var high = window["quantiles"]!["0.9"]!.AsArray().Select(s => s![0]!.GetValue<double>()).ToArray();
            for (var h = 0; h < 3; h++, values++)
            {
                Assert.True(low[h] <= middle[h] && middle[h] <= high[h], $"window at {start}, step {h}: {low[h]} {middle[h]} {high[h]}");
                if (actual[h] >= low[h] && actual[h] <= high[h]) inside++;
            }
            var forecast = window["forecast"]!.AsArray().Select(s => s![0]!.GetValue<double>()).ToArray();
            windowMae.Add(Enumerable.Range(0, 3).Average(h => Math.Abs(actual[h] - forecast[h])));
        }
        Assert.Equal(metrics["coverage80"]!.GetValue<double>(), inside / (double)values, 9);
        // The standard errors: the windows' spread over the root of the validation steps (windows + horizon - 1) per
        // horizon, as the windows overlap; MASE's is MAE's in MASE's scale.
        var mae = windowMae.Average();
        Assert.Equal(metrics["mae"]!.GetValue<double>(), mae, 6);
        var independent = (windows.Count + 2) / 3.0;
        Assert.True(independent >= 2, $"{windows.Count} windows");
        var error = Math.Sqrt(windowMae.Sum(v => (v - mae) * (v - mae)) / (windowMae.Count - 1)) / Math.Sqrt(independent);
        Assert.Equal(error, metrics["maeStandardError"]!.GetValue<double>(), 6);
        Assert.Equal(error * metrics["mase"]!.GetValue<double>() / mae, metrics["maseStandardError"]!.GetValue<double>(), 6);
        Assert.True(metrics["smapeStandardError"]!.GetValue<double>() > 0);
    }

    [Fact]
    public async Task PreviewsAreBoundedAndMatchTheData()
    {
        var series = await GetAsync($"/datasets/{models.Load}/preview");
        var texts = await GetAsync($"/datasets/{models.Reviews}/preview");

        var first = series["series"]!.AsArray()[0]!;
        Assert.Equal(96, first["length"]!.GetValue<int>());
        Assert.Equal(96, first["columns"]!["load"]!.AsArray().Count);
        Assert.StartsWith("1990-01-01", first["times"]![0]!.GetValue<string>());
        Assert.Equal(120, texts["lengths"]!["counts"]!.AsArray().Sum(c => c!.GetValue<long>()));
        Assert.Equal(5, texts["examples"]!.AsArray().Count);
        Assert.Equal(TestData.SentimentJsonl().Split('\n')[0], System.Text.Json.JsonSerializer.Serialize(new
        {
            text = texts["examples"]![0]!["text"]!.GetValue<string>(), label = (int)texts["examples"]![0]!["label"]![0]!.GetValue<double>(),
        }));

        var long_ = await client.UploadDatasetAsync(TestData.SeasonalCsv(2000), "long.csv");
        var sampled = (await GetAsync($"/datasets/{long_}/preview"))["series"]![0]!;
        Assert.Equal(500, sampled["columns"]!["load"]!.AsArray().Count);
        Assert.Equal(1999, sampled["steps"]!.AsArray().Last()!.GetValue<int>());
    }

    [Fact]
    public async Task TextStatesComeWithTheirTokens()
    {
        var (status, answer) = await PostAsync("/predict", new { model = "reviews", texts = new[] { "The film was GREAT!" }, returnStates = true });

        Assert.Equal(HttpStatusCode.OK, status);
        var output = answer["outputs"]![0]!;
        Assert.Equal(["the", "film", "was", "great", "!"], output["tokens"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(5, output["states"]!["forward"]!.AsArray().Count);
    }

    [Fact]
    public async Task EveryMatchIsARangeOfTheDatasetWhereTheUnitsAreOn()
    {
        // The units on at the good word of a text, as the explorer picks them.
        var (_, answer) = await PostAsync("/predict", new { model = "reviews", texts = new[] { "the plot was lovely" }, returnStates = true });
        var states = answer["outputs"]![0]!["states"]!["forward"]!.AsArray();
        const double threshold = 0.1;
        var units = Enumerable.Range(0, 12).Where(u => states[3]![u]!.GetValue<double>() > threshold).Take(3).ToArray();
        Assert.NotEmpty(units);

        var (status, found) = await PostAsync("/models/reviews/versions/1/matches", new { units, threshold, length = 1, limit = 5 });

        Assert.True(status == HttpStatusCode.OK, found.ToJsonString());
        Assert.Equal(models.Reviews, found["datasetId"]!.GetValue<string>());
        Assert.Equal(120, found["searchedSequences"]!.GetValue<int>());
        Assert.False(found["truncated"]!.GetValue<bool>());
        var matches = found["matches"]!.AsArray();
        Assert.InRange(matches.Count, 1, 5);
        var scores = matches.Select(m => m!["score"]!.GetValue<double>()).ToArray();
        Assert.Equal(scores.OrderByDescending(s => s), scores);
        var texts = TestData.SentimentJsonl().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonNode.Parse(line)!["text"]!.GetValue<string>()).ToArray();
        foreach (var match in matches)
        {
            // The match, checked against the states of its own text.
            var text = texts[match!["sequence"]!.GetValue<int>()];
            var (_, again) = await PostAsync("/predict", new { model = "reviews", texts = new[] { text }, returnStates = true });
            var its = again["outputs"]![0]!["states"]!["forward"]!.AsArray();
            int start = match["start"]!.GetValue<int>(), end = match["end"]!.GetValue<int>();
            Assert.True(end > start);
            for (var t = start; t < end; t++)
                Assert.All(units, u => Assert.True(its[t]![u]!.GetValue<double>() > threshold, $"'{text}' step {t} unit {u}"));
            var tokens = again["outputs"]![0]!["tokens"]!.AsArray().Select(x => x!.GetValue<string>()).ToArray();
            var context = match["contextStart"]!.GetValue<int>();
            Assert.Equal(tokens.Skip(context).Take(match["steps"]!.AsArray().Count), match["steps"]!.AsArray().Select(s => s!.GetValue<string>()));
        }
    }

    [Fact]
    public async Task ForecastersAndBackwardStatesAreSearchedToo()
    {
        var (status, windows) = await PostAsync("/models/load/versions/1/matches", new { units = new[] { 0 }, threshold = -1, limit = 3 });
        Assert.True(status == HttpStatusCode.OK, windows.ToJsonString());
        // 96 months in windows of the input length, 12: 8 windows, each one range where the unit is above -1 throughout,
        // over the 12 steps and the horizon's 3, whose calendar features (the data is monthly) the network reads too.
        Assert.Equal(8, windows["searchedSequences"]!.GetValue<int>());
        Assert.Equal(3, windows["matches"]!.AsArray().Count);
        Assert.All(windows["matches"]!.AsArray(), m => Assert.Equal(15, m!["end"]!.GetValue<int>() - m["start"]!.GetValue<int>()));

        var (backward, found) = await PostAsync("/models/signs/versions/1/matches", new { units = new[] { 1 }, threshold = 0, direction = "backward", maxSequences = 50 });
        Assert.True(backward == HttpStatusCode.OK, found.ToJsonString());
        Assert.Equal(50, found["searchedSequences"]!.GetValue<int>());
        Assert.True(found["truncated"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("{}", "units")]
    [InlineData("{\"units\": [12]}", "units")]
    [InlineData("{\"units\": [1, 1]}", "units")]
    [InlineData("{\"units\": [1], \"threshold\": 2}", "threshold")]
    [InlineData("{\"units\": [1], \"limit\": 0}", "limit")]
    [InlineData("{\"units\": [1], \"length\": 0}", "length")]
    [InlineData("{\"units\": [1], \"maxSequences\": 100000000}", "maxSequences")]
    [InlineData("{\"units\": [1], \"direction\": \"backward\"}", "direction")]
    [InlineData("{\"units\": [1], \"direction\": \"sideways\"}", "direction")]
    [InlineData("{\"units\": \"all\"}", "units")]
    public async Task ABadSearchIsA400NamingItsField(string body, string field)
    {
        var response = await client.PostAsync("/models/reviews/versions/1/matches", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotEmpty((await response.ProblemAsync()).Errors(field));
    }

    [Fact]
    public async Task WithoutItsDatasetOrVersionThereIsNothingToSearchOrDraw()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SignSequencesJsonl(40, 3), "few.jsonl");
        var job = await client.CreateJobAsync(new { datasetId = dataset, modelName = "orphan", task = new { kind = "classification" }, model = new { hiddenSize = 4 }, training = new { epochs = 1 } });
        Assert.Equal("succeeded", (await client.WaitForEndAsync(job)).State());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/datasets/{dataset}")).StatusCode);

        var (status, problem) = await PostAsync("/models/orphan/versions/1/matches", new { units = new[] { 0 } });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("deleted", problem["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/datasets/{dataset}/preview")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/models/orphan/versions/1/evaluation")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/models/orphan/versions/1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/models/orphan/versions/1/evaluation")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/models/orphan/versions/1/matches", new { units = new[] { 0 } })).StatusCode);
    }
}

public sealed class MatchBudgetTests
{
    [Fact]
    public async Task ALargeDatasetIsSearchedOnlyAsFarAsItsByteBudget()
    {
        using var factory = RnnServiceFactory.With(new Dictionary<string, string> { ["Inference:MaxMatchDatasetBytes"] = "4096" });
        var client = factory.CreateClient();
        var text = TestData.SignSequencesJsonl();
        Assert.True(text.Length > 4096);
        var dataset = await client.UploadDatasetAsync(text, "signs.jsonl");
        var job = await client.CreateJobAsync(new { datasetId = dataset, modelName = "signs", task = new { kind = "classification" }, model = new { hiddenSize = 4 }, training = new { epochs = 1 } });
        Assert.Equal("succeeded", (await client.WaitForEndAsync(job)).State());

        var response = await client.PostAsJsonAsync("/models/signs/versions/1/matches", new { units = new[] { 0 }, threshold = -1 });
        var found = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The whole lines of the first 4 KiB: fewer than the dataset's 200 sequences, and the answer says so.
        var lines = Encoding.UTF8.GetBytes(text)[..4096].Count(b => b == (byte)'\n');
        Assert.True(lines == found["searchedSequences"]!.GetValue<int>(), found.ToJsonString());
        Assert.True(found["truncated"]!.GetValue<bool>());
    }
}
