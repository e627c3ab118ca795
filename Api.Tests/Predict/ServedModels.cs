using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RnnService.Api.Inference;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Predict;

/// <summary>
/// One service with small models trained for real, shared by the predict tests of a class: a forecaster of the seasonal
/// series (horizon 3), a sequence classifier, a text classifier, and two spare forecasters: one only the single-load test loads, one the delete test deletes.
/// The cache holds two models, so that using them in turn evicts.
/// </summary>
public sealed class ServedModels : IAsyncLifetime
{
    private readonly RnnServiceFactory factory = RnnServiceFactory.With(new Dictionary<string, string> { ["Inference:CacheMaxModels"] = "2" });

    public HttpClient Client { get; private set; } = null!;

    public ModelCache Cache => factory.Services.GetRequiredService<ModelCache>();

    public async Task InitializeAsync()
    {
        Client = factory.CreateClient();
        var series = await Client.UploadDatasetAsync(TestData.SeasonalCsv(), "load.csv");
        var signs = await Client.UploadDatasetAsync(TestData.SignSequencesJsonl(), "signs.jsonl");
        var reviews = await Client.UploadDatasetAsync(TestData.SentimentJsonl(), "reviews.jsonl");
        string[] jobs =
        [
            await Client.CreateJobAsync(new
            {
                datasetId = series, modelName = "load", task = new { kind = "forecast", inputLength = 12, horizon = 3, season = 12, calendarFeatures = "none" },
                model = new { hiddenSize = 16 }, training = new { epochs = 8, learningRate = 0.01 },
            }),
            await Client.CreateJobAsync(new
            {
                datasetId = signs, modelName = "signs", task = new { kind = "classification" },
                model = new { hiddenSize = 16, bidirectional = true }, training = new { epochs = 15, learningRate = 0.01, batchSize = 16 },
            }),
            await Client.CreateJobAsync(new
            {
                datasetId = reviews, modelName = "reviews", task = new { kind = "classification", vocabularySize = 50 },
                model = new { cell = "gru", hiddenSize = 16, embeddingDim = 8 }, training = new { epochs = 15, learningRate = 0.02 },
            }),
            await Client.CreateJobAsync(new
            {
                datasetId = series, modelName = "spare", task = new { kind = "forecast", inputLength = 6, horizon = 1, calendarFeatures = "none" },
                model = new { hiddenSize = 8 }, training = new { epochs = 1 },
            }),
            await Client.CreateJobAsync(new
            {
                datasetId = series, modelName = "doomed", task = new { kind = "forecast", inputLength = 6, horizon = 1, calendarFeatures = "none" },
                model = new { hiddenSize = 8 }, training = new { epochs = 1 },
            }),
        ];
        foreach (var job in jobs) Assert.Equal("succeeded", (await Client.WaitForEndAsync(job)).State());
    }

    public async Task<JsonObject> PredictAsync(object request)
    {
        var response = await Client.PostAsJsonAsync("/predict", request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    public Task DisposeAsync()
    {
        factory.Dispose();
        return Task.CompletedTask;
    }
}
