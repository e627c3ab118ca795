using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Predict;

/// <summary>Two forecasters trained once: one with quantiles, one that reads a known-future column and the calendar.</summary>
public sealed class PlanningModels : IAsyncLifetime
{
    private readonly RnnServiceFactory factory = new();

    public HttpClient Client { get; private set; } = null!;

    public string Series { get; private set; } = "";

    public JsonObject QuantileJob { get; private set; } = null!;

    public JsonObject PromotionJob { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Client = factory.CreateClient();
        Series = await Client.UploadDatasetAsync(TestData.SeasonalCsv(), "load.csv");
        var promotions = await Client.UploadDatasetAsync(TestData.PromotionsCsv(), "promotions.csv");
        var quantiles = await Client.CreateJobAsync(new
        {
            datasetId = Series, modelName = "ranges",
            task = new { kind = "forecast", inputLength = 12, horizon = 3, season = 12, quantiles = new[] { 0.1, 0.9 }, calendarFeatures = "none" },
            model = new { hiddenSize = 16 }, training = new { epochs = 15, learningRate = 0.01, batchSize = 16 },
        });
        var promotion = await Client.CreateJobAsync(new
        {
            datasetId = promotions, modelName = "promotions",
            task = new { kind = "forecast", inputLength = 12, horizon = 3, knownFeatures = new[] { "promo" } },
            model = new { hiddenSize = 16 }, training = new { epochs = 60, learningRate = 0.01, batchSize = 16, earlyStoppingPatience = 0 },
        });
        QuantileJob = await Client.WaitForEndAsync(quantiles, 300);
        PromotionJob = await Client.WaitForEndAsync(promotion, 300);
        Assert.Equal("succeeded", QuantileJob.State());
        Assert.Equal("succeeded", PromotionJob.State());
    }

    public Task DisposeAsync()
    {
        factory.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Forecasts people plan with: quantiles that stay ordered, with their own metrics; known-future and calendar features
/// that change the forecast; and clear problems for every bad level, future and start.
/// </summary>
public sealed class ForecastPlanningTests(PlanningModels models) : IClassFixture<PlanningModels>
{
    private HttpClient Client => models.Client;

    private static JsonArray Window(int from, int length) =>
        new(Enumerable.Range(from, length).Select(i => (JsonNode)(100 + 0.5 * i + 20 * Math.Sin(i * Math.PI / 6))).ToArray());

    private async Task<JsonObject> PredictAsync(JsonObject body)
    {
        var response = await Client.PostAsJsonAsync("/predict", body);
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(response.StatusCode == HttpStatusCode.OK, answer.ToJsonString());
        return answer;
    }

    [Fact]
    public async Task AQuantileForecasterAnswersOrderedQuantilesWithTheMedianAsItsForecastAndReportsWqlAndCoverage()
    {
        var job = models.QuantileJob;
        Assert.Equal([0.1, 0.5, 0.9], job["request"]!["task"]!["quantiles"]!.AsArray().Select(level => level!.GetValue<double>()));
        var metrics = job["metrics"]!;
        Assert.InRange(metrics["wql"]!.GetValue<double>(), 1e-6, 1);
        // Calibrated on the validation windows (conformal): the 80% interval covers at least 80% of them.
        Assert.InRange(metrics["coverage80"]!.GetValue<double>(), 0.8, 1);
        var version = (await Client.GetFromJsonAsync<JsonObject>("/models/ranges/versions/1"))!;
        var shifts = version["preprocessing"]!["quantileShifts"]!.AsArray().Select(shift => shift!.GetValue<double>()).ToArray();
        Assert.Equal(3, shifts.Length);
        Assert.Equal(0, shifts[1]);
        Assert.Equal(-shifts[0], shifts[2]);
        Assert.NotNull(metrics["mase"]);

        var answer = await PredictAsync(new JsonObject { ["model"] = "ranges", ["inputs"] = new JsonArray(Window(60, 12), Window(70, 20)) });
        foreach (var output in answer["outputs"]!.AsArray())
        {
            var quantiles = output!["quantiles"]!.AsObject();
            Assert.Equal(["0.1", "0.5", "0.9"], quantiles.Select(entry => entry.Key));
            Assert.Equal(output["forecast"]!.ToJsonString(), quantiles["0.5"]!.ToJsonString());
            for (var h = 0; h < 3; h++)
            {
                double low = quantiles["0.1"]![h]![0]!.GetValue<double>(), median = quantiles["0.5"]![h]![0]!.GetValue<double>(),
                    high = quantiles["0.9"]![h]![0]!.GetValue<double>();
                Assert.True(low <= median && median <= high, $"step {h}: {low} {median} {high}");
                Assert.InRange(median, 50, 250);
            }
        }
    }

    [Fact]
    public async Task AQuantileModelsWeightsAndPreprocessingImportAsAModelThatAnswersTheSame()
    {
        var version = (await Client.GetFromJsonAsync<JsonObject>("/models/ranges/versions/1"))!;
        var weights = await Client.GetByteArrayAsync("/models/ranges/versions/1/weights");
        var spec = new JsonObject
        {
            ["task"] = new JsonObject { ["kind"] = "forecast" },
            ["model"] = new JsonObject { ["cell"] = version["spec"]!["cell"]!.DeepClone() },
            ["preprocessing"] = version["preprocessing"]!.DeepClone(),
        };
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(spec.ToJsonString(), Encoding.UTF8), "spec");
        form.Add(new ByteArrayContent(weights), "weights", "model.pt");
        var imported = await Client.PostAsync("/models/ranges-copy/versions", form);
        Assert.True(imported.StatusCode == HttpStatusCode.Created, await imported.Content.ReadAsStringAsync());

        var inputs = new JsonArray(Window(50, 12));
        var original = await PredictAsync(new JsonObject { ["model"] = "ranges", ["inputs"] = inputs.DeepClone() });
        var copy = await PredictAsync(new JsonObject { ["model"] = "ranges-copy", ["inputs"] = inputs.DeepClone() });
        Assert.Equal(original["outputs"]!.ToJsonString(), copy["outputs"]!.ToJsonString());
    }

    [Theory]
    [InlineData("[0, 0.5]", "task.quantiles[0]", "not between 0 and 1")]
    [InlineData("[0.5, 1]", "task.quantiles[1]", "not between 0 and 1")]
    [InlineData("[0.9, 0.1]", "task.quantiles[1]", "ascending")]
    [InlineData("[0.5, 0.5]", "task.quantiles[1]", "repeats 0.5")]
    [InlineData("[]", "task.quantiles", "is empty")]
    public async Task BadQuantileLevelsAreProblemsNamingTheLevel(string levels, string field, string message)
    {
        var body = JsonNode.Parse($$"""
            { "datasetId": "{{models.Series}}", "modelName": "bad", "task": { "kind": "forecast", "horizon": 3, "quantiles": {{levels}} } }
            """)!;
        var response = await Client.PostAsJsonAsync("/training-jobs", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, (await response.ProblemAsync()).Errors(field));
    }

    [Fact]
    public async Task AKnownFutureColumnChangesTheForecastWhereItChanges()
    {
        var task = models.PromotionJob["request"]!["task"]!;
        Assert.Equal("auto", task["calendarFeatures"]!.GetValue<string>());
        Assert.Equal(["load"], task["targets"]!.AsArray().Select(t => t!.GetValue<string>()));
        // The window: 12 months of load and promo (none), from January 1995.
        var window = new JsonArray(Enumerable.Range(60, 12).Select(i => (JsonNode)new JsonArray(100 + 0.5 * i + 20 * Math.Sin(i * Math.PI / 6), 0)).ToArray());
        JsonObject Body(params int[] promo) => new()
        {
            ["model"] = "promotions", ["inputs"] = new JsonArray(window.DeepClone()),
            ["future"] = new JsonArray(new JsonArray(promo.Select(p => (JsonNode)p).ToArray())), ["starts"] = new JsonArray("1995-01"),
        };
        var without = (await PredictAsync(Body(0, 0, 0)))["outputs"]![0]!["forecast"]!.AsArray();
        var with = (await PredictAsync(Body(0, 1, 0)))["outputs"]![0]!["forecast"]!.AsArray();
        double Step(JsonArray forecast, int h) => forecast[h]![0]!.GetValue<double>();
        // The promotion adds 40 in its month: the model has learnt most of it there, and little elsewhere.
        Assert.InRange(Step(with, 1) - Step(without, 1), 20, 60);
        Assert.InRange(Math.Abs(Step(with, 0) - Step(without, 0)), 0, 15);
    }

    [Fact]
    public async Task MissingShortOrMisshapedFutureAndStartsThatAreNotTimesAreProblemsNamingThem()
    {
        var window = new JsonArray(Enumerable.Range(0, 12).Select(i => (JsonNode)new JsonArray(100 + i, 0)).ToArray());
        async Task<JsonObject> Problem(JsonObject extra)
        {
            var body = new JsonObject { ["model"] = "promotions", ["inputs"] = new JsonArray(window.DeepClone(), window.DeepClone()) };
            foreach (var (key, value) in extra) body[key] = value?.DeepClone();
            var response = await Client.PostAsJsonAsync("/predict", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return await response.ProblemAsync();
        }
        JsonArray Steps(params JsonNode[] steps) => new(steps);
        var good = Steps(0, 1, 0);
        JsonArray Starts() => new("1995-01", "1996-01");

        Assert.Contains("is required", (await Problem(new() { ["starts"] = Starts() })).Errors("future"));
        Assert.Contains("holds 1 lists, but inputs holds 2", (await Problem(new() { ["future"] = new JsonArray(good.DeepClone()), ["starts"] = Starts() })).Errors("future"));
        Assert.Contains("has 2 steps of 1 values; the model reads 3 steps",
            (await Problem(new() { ["future"] = new JsonArray(good.DeepClone(), Steps(0, 1)), ["starts"] = Starts() })).Errors("future[1]"));
        Assert.Contains("has 3 steps of 2 values",
            (await Problem(new() { ["future"] = new JsonArray(good.DeepClone(), Steps(new JsonArray(0, 1), new JsonArray(0, 1), new JsonArray(0, 1))), ["starts"] = Starts() })).Errors("future[1]"));
        Assert.Contains("must be a number",
            (await Problem(new() { ["future"] = new JsonArray(good.DeepClone(), Steps(0, "one", 0)), ["starts"] = Starts() })).Errors("future[1][1]"));
        JsonArray Both() => new(good.DeepClone(), good.DeepClone());
        Assert.Contains("is required", (await Problem(new() { ["future"] = Both() })).Errors("starts"));
        Assert.Contains("is not a time", (await Problem(new() { ["future"] = Both(), ["starts"] = new JsonArray("1995-01", "next spring") })).Errors("starts[1]"));

        // A model without either: future and starts are refused rather than ignored.
        var response = await Client.PostAsJsonAsync("/predict", new JsonObject
        {
            ["model"] = "ranges", ["inputs"] = new JsonArray(Window(0, 12)), ["future"] = new JsonArray(good.DeepClone()), ["starts"] = new JsonArray("1995-01"),
        });
        var problem = await response.ProblemAsync();
        Assert.Contains("reads no known-future features", problem.Errors("future"));
        Assert.Contains("reads no calendar features", problem.Errors("starts"));
    }

    [Fact]
    public async Task CovariatesTheDatasetCannotGiveAreProblemsNamingThem()
    {
        var undated = await Client.UploadDatasetAsync("load,promo\n" + string.Concat(Enumerable.Range(0, 60).Select(i => $"{100 + i % 12},{i % 3 / 2}\n")), "undated.csv");
        async Task<JsonObject> Problem(string dataset, object task)
        {
            var response = await Client.PostJobAsync(new { datasetId = dataset, modelName = "bad", task });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return await response.ProblemAsync();
        }
        Assert.Contains("is not a numeric column",
            (await Problem(models.Series, new { kind = "forecast", horizon = 3, knownFeatures = new[] { "price" } })).Errors("task.knownFeatures[0]"));
        Assert.Contains("is a target",
            (await Problem(models.Series, new { kind = "forecast", horizon = 3, targets = new[] { "load" }, knownFeatures = new[] { "load" } })).Errors("task.knownFeatures[0]"));
        Assert.Contains("also in task.features",
            (await Problem(undated, new { kind = "forecast", horizon = 3, targets = new[] { "load" }, features = new[] { "load", "promo" }, knownFeatures = new[] { "promo" } }))
            .Errors("task.knownFeatures[0]"));
        Assert.Contains("needs a time column",
            (await Problem(undated, new { kind = "forecast", horizon = 3, calendarFeatures = "auto" })).Errors("task.calendarFeatures"));

        // Without a time column the default is no calendar, and known features alone are read over the horizon.
        var response = await Client.PostJobAsync(new
        {
            datasetId = undated, modelName = "undated", task = new { kind = "forecast", horizon = 3, knownFeatures = new[] { "promo" } },
            training = new { epochs = 1 },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var task = (await response.Content.ReadFromJsonAsync<JsonObject>())!["request"]!["task"]!;
        Assert.Equal("none", task["calendarFeatures"]!.GetValue<string>());
        Assert.Equal(12, task["season"]!.GetValue<int>());
    }
}
