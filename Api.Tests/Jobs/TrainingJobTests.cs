using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Training.Pipeline;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Api.Tests.Jobs;

public sealed class TrainingJobTests(RnnServiceFactory factory) : IClassFixture<RnnServiceFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    /// <summary>A small forecaster; <paramref name="untilCancelled"/>: no early stopping, so that it runs until it is cancelled.</summary>
    private static object Forecast(string datasetId, string modelName, int epochs = 3, bool untilCancelled = false) => new
    {
        datasetId, modelName,
        task = new { kind = "forecast", inputLength = 12, horizon = 3, season = 12 },
        model = new { cell = "gru", hiddenSize = 8 },
        training = new { epochs, batchSize = 16, earlyStoppingPatience = untilCancelled ? 0 : 10 },
    };

    [Fact]
    public async Task AForecastJobTrainsRegistersVersionOneWithMetricsAndASecondJobVersionTwo()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "load.csv");

        var first = await client.WaitForEndAsync(await client.CreateJobAsync(Forecast(dataset, "load")));
        var second = await client.WaitForEndAsync(await client.CreateJobAsync(Forecast(dataset, "load", epochs: 2)));

        Assert.Equal("succeeded", first.State());
        Assert.Equal(1, first["model"]!["version"]!.GetValue<int>());
        Assert.Equal(3, first["history"]!.AsArray().Count);
        Assert.Equal("cpu", first["device"]!.GetValue<string>());
        foreach (var metric in new[] { "mae", "rmse", "smape", "mase", "naiveMae", "naiveSmape" })
            Assert.True(first["metrics"]![metric]!.GetValue<double>() >= 0, metric);
        Assert.Equal(2, second["model"]!["version"]!.GetValue<int>());

        var model = (await client.GetFromJsonAsync<JsonObject>("/models/load"))!;
        Assert.Equal([2, 1], model["versions"]!.AsArray().Select(v => v!["version"]!.GetValue<int>()));
        Assert.Equal(2, model["aliases"]!["latest"]!.GetValue<int>());
        var version = (await client.GetFromJsonAsync<JsonObject>("/models/load/versions/1"))!;
        Assert.Equal(first["id"]!.GetValue<string>(), version["source"]!.GetValue<string>());
        Assert.Equal("gru", version["spec"]!["cell"]!.GetValue<string>());
        Assert.Equal("cpu", version["device"]!.GetValue<string>());
        Assert.Equal(3, version["spec"]!["outputSize"]!.GetValue<int>());
        // A seasonal series is measured from its last season by default, and a dated one reads its calendar.
        Assert.Equal("seasonal", version["preprocessing"]!["scaling"]!.GetValue<string>());
        Assert.Equal("monthOfYear", version["preprocessing"]!["calendar"]![0]!.GetValue<string>());
        Assert.Equal(1 + 12 + 1, version["spec"]!["inputSize"]!.GetValue<int>());
        Assert.Equal(first["metrics"]!.ToJsonString(), version["metrics"]!.ToJsonString());
        Assert.True(version["parameterCount"]!.GetValue<long>() > 0);
        Assert.Contains((await client.ListAsync("/models")),
            m => m!["name"]!.GetValue<string>() == "load" && m["latestVersion"]!.GetValue<int>() == 2);

        // The weights are a PyTorch state_dict with the contract's key names.
        var weights = StateDictReader.Read(await client.GetStreamAsync("/models/load/versions/1/weights"));
        Assert.Equal(["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "head.weight", "head.bias"],
            weights.Select(t => t.Name));
        // A succeeded job's checkpoint is no longer needed.
        Assert.False(Directory.Exists(Path.Combine(factory.DataDirectory, "checkpoints", first["id"]!.GetValue<string>())));
    }

    [Fact]
    public async Task ASequenceClassifierBeatsTheMajorityClass()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SignSequencesJsonl(), "signs.jsonl");

        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "signs", task = new { kind = "classification" },
            model = new { hiddenSize = 16 }, training = new { epochs = 25, learningRate = 0.01, batchSize = 16 },
        }));

        Assert.Equal("succeeded", job.State());
        var metrics = job["metrics"]!;
        Assert.True(metrics["accuracy"]!.GetValue<double>() > metrics["majorityAccuracy"]!.GetValue<double>() + 0.2, metrics.ToJsonString());
        Assert.InRange(metrics["macroF1"]!.GetValue<double>(), 0, 1);
        Assert.True(metrics["logLoss"]!.GetValue<double>() > 0);
        var version = (await client.GetFromJsonAsync<JsonObject>("/models/signs/versions/1"))!;
        Assert.Equal([0.0, 1.0], version["preprocessing"]!["labels"]!.AsArray().Select(l => l!.GetValue<double>()));
    }

    [Fact]
    public async Task ASequenceClassifierTakesTheClassifiersLearningRateAndTheFamilysModel()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SignSequencesJsonl(), "signs.jsonl");

        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "signs-defaults", task = new { kind = "classification" },
            model = new { hiddenSize = 4 }, training = new { epochs = 1 },
        }));

        // As README's real-data table chose them for sequences of numbers: 0.002, the last state of one direction.
        Assert.Equal("succeeded", job.State());
        Assert.Equal(0.002, job["request"]!["training"]!["learningRate"]!.GetValue<double>());
        Assert.Equal("last", job["request"]!["model"]!["pooling"]!.GetValue<string>());
        Assert.False(job["request"]!["model"]!["bidirectional"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ATextClassifierKeepsItsVocabularyAndEmbedding()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SentimentJsonl(), "reviews.jsonl");

        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "reviews", task = new { kind = "classification", vocabularySize = 50 },
            model = new { hiddenSize = 16, embeddingDim = 8 }, training = new { epochs = 20, learningRate = 0.02 },
        }));

        Assert.Equal("succeeded", job.State());
        Assert.True(job["metrics"]!["accuracy"]!.GetValue<double>() >= 0.8, job["metrics"]!.ToJsonString());
        // A text classifier's defaults, as README's real-data table chose them.
        var model = job["request"]!["model"]!;
        Assert.Equal("attention", model["pooling"]!.GetValue<string>());
        Assert.True(model["bidirectional"]!.GetValue<bool>());
        Assert.Equal(0.5, model["embeddingDropout"]!.GetValue<double>());
        var version = (await client.GetFromJsonAsync<JsonObject>("/models/reviews/versions/1"))!;
        var vocabulary = version["preprocessing"]!["vocabulary"]!.AsArray().Select(w => w!.GetValue<string>()).ToArray();
        Assert.Equal(["<pad>", "<unk>"], vocabulary[..2]);
        Assert.Contains("great", vocabulary);
        Assert.Equal(vocabulary.Length, version["spec"]!["vocabularySize"]!.GetValue<int>());
        Assert.Equal(8, version["spec"]!["inputSize"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("mean")]
    [InlineData("max")]
    [InlineData("attention")]
    public async Task ATextClassifierWithEachPoolingLearnsAndServesAndExportsItsWeights(string pooling)
    {
        var dataset = await client.UploadDatasetAsync(TestData.SentimentJsonl(), "reviews.jsonl");
        var name = "pooled-" + pooling;

        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = name, task = new { kind = "classification", vocabularySize = 50 },
            model = new { hiddenSize = 16, embeddingDim = 8, pooling, bidirectional = false }, training = new { epochs = 20, learningRate = 0.02 },
        }));

        Assert.Equal("succeeded", job.State());
        Assert.Equal(pooling, job["request"]!["model"]!["pooling"]!.GetValue<string>());
        Assert.True(job["metrics"]!["accuracy"]!.GetValue<double>() >= 0.8, job["metrics"]!.ToJsonString());
        var version = (await client.GetFromJsonAsync<JsonObject>($"/models/{name}/versions/1"))!;
        Assert.Equal(pooling, version["spec"]!["pooling"]!.GetValue<string>());
        // Attention adds 16 + 1 parameters: its nn.Linear(16, 1).
        var spec = version["spec"]!;
        var vocabulary = spec["vocabularySize"]!.GetValue<long>();
        var expected = vocabulary * 8 + 4 * 16 * (8 + 16) + 8 * 16 + 2 * 16 + 2 + (pooling == "attention" ? 17 : 0);
        Assert.Equal(expected, version["parameterCount"]!.GetValue<long>());
        var answer = await client.PostAsJsonAsync("/predict", new { model = name, texts = new[] { "the acting was great!", "awful plot" } });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var weights = StateDictReader.Read(new MemoryStream(await client.GetByteArrayAsync($"/models/{name}/versions/1/weights")));
        Assert.Equal(pooling == "attention", weights.Contains("attention.weight"));
    }

    [Fact]
    public async Task ARegressionJobReportsErrorsInTheLabelsOwnScale()
    {
        var random = new Random(3);
        var lines = Enumerable.Range(0, 80).Select(_ =>
        {
            var steps = Enumerable.Range(0, random.Next(2, 8)).Select(_ => Math.Round(random.NextDouble(), 3)).ToArray();
            return System.Text.Json.JsonSerializer.Serialize(new { sequence = steps, label = 1000 + 100 * steps.Sum() });
        });
        var dataset = await client.UploadDatasetAsync(string.Join('\n', lines), "sums.jsonl");

        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "sums", task = new { kind = "regression" },
            model = new { hiddenSize = 16 }, training = new { epochs = 30, learningRate = 0.01, batchSize = 8 },
        }));

        Assert.Equal("succeeded", job.State());
        var metrics = job["metrics"]!;
        Assert.True(metrics["mae"]!.GetValue<double>() < metrics["meanMae"]!.GetValue<double>(), metrics.ToJsonString());
        Assert.True(metrics["meanMae"]!.GetValue<double>() > 10, "errors are in the labels' scale, not the standardised one");
    }

    [Fact]
    public async Task ACancelledRunningJobEndsCancelledKeepsItsCheckpointAndRegistersNothing()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "cancel.csv");
        var id = await client.CreateJobAsync(Forecast(dataset, "cancelled", epochs: 10_000, untilCancelled: true));
        await client.WaitForJobAsync(id, job => job["progress"]?["epoch"]?.GetValue<int>() >= 1);

        var response = await client.PostAsync($"/training-jobs/{id}/cancel", null);
        var job = await client.WaitForEndAsync(id, timeoutSeconds: 30);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("cancelled", job.State());
        Assert.True(job["cancelRequested"]!.GetValue<bool>());
        Assert.Null(job["model"]);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/models/cancelled")).StatusCode);
        Assert.NotNull(CheckpointFiles.TryLoad(Path.Combine(factory.DataDirectory, "checkpoints", id), out _));
        var again = await client.PostAsync($"/training-jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
    }

    [Fact]
    public async Task ASucceededJobCannotBeCancelled()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "done.csv");
        var id = await client.CreateJobAsync(Forecast(dataset, "done", epochs: 1));
        await client.WaitForEndAsync(id);

        var response = await client.PostAsync($"/training-jobs/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("the job already ended: succeeded.", (await response.ProblemAsync())["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheEventStreamReportsEveryEpochAndEndsWithTheFinalState()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "events.csv");
        var id = await client.CreateJobAsync(Forecast(dataset, "events", epochs: 4));

        var (mediaType, events) = await client.ReadEventsAsync($"/training-jobs/{id}/events");

        Assert.Equal("text/event-stream", mediaType);
        Assert.Equal([1, 2, 3, 4], events.Where(e => e.Name == "epoch").Select(e => e.Data["epoch"]!["epoch"]!.GetValue<int>()));
        var last = events[^1];
        Assert.Equal("state", last.Name);
        Assert.Equal("succeeded", last.Data["state"]!.GetValue<string>());
        Assert.Equal(1, last.Data["model"]!["version"]!.GetValue<int>());
    }

    [Fact]
    public async Task JobsAreListedNewestFirstAndFilteredByState()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "list.csv");
        var first = await client.CreateJobAsync(Forecast(dataset, "listed", epochs: 1));
        await client.WaitForEndAsync(first);
        var second = await client.CreateJobAsync(Forecast(dataset, "listed", epochs: 1));
        await client.WaitForEndAsync(second);

        var all = (await client.ListAsync("/training-jobs")).Select(j => j!["id"]!.GetValue<string>()).ToList();
        var failed = (await client.ListAsync("/training-jobs?state=failed"));

        Assert.True(all.IndexOf(second) < all.IndexOf(first));
        Assert.DoesNotContain(failed, j => j!["id"]!.GetValue<string>() == first);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/training-jobs?state=sleeping")).StatusCode);
    }
}
