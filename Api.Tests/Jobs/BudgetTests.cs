using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// Every size a request can set is budgeted before work starts: a job's parameters and estimated peak memory against
/// the Jobs limits, its time against Jobs:MaxJobDuration, an import's parameters from the file's shapes, a prediction's
/// memory against Inference:MaxRequestMemoryMiB. Over budget is a 400 naming the fields with the figure and the limit,
/// and nothing is stored.
/// </summary>
public sealed class BudgetTests : IDisposable
{
    private readonly RnnServiceFactory factory = RnnServiceFactory.With(new Dictionary<string, string> { ["Roles"] = "api" });

    public void Dispose() => factory.Dispose();

    private static object Forecast(string dataset, object? model = null, object? training = null, object? task = null) => new
    {
        datasetId = dataset, modelName = "budgeted",
        task = task ?? new { kind = "forecast", horizon = 12, calendarFeatures = "none" },
        model = model ?? new { },
        training = training ?? new { },
    };

    private static async Task<JsonObject> RefusedAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        return await response.ProblemAsync();
    }

    [Fact]
    public async Task TheIssuesModelOf1Point6BillionParametersIsRefusedWithItsFigureAndTheLimit()
    {
        var client = factory.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(144), "air.csv");

        var problem = await RefusedAsync(await client.PostJobAsync(Forecast(dataset, new { hiddenSize = 20000 })));

        // 4 gates × 20,000 × (1 + 20,000) + two bias vectors, and a head of 12 × 20,000 + 12: 1,600,480,012.
        var message = problem.Errors("model.hiddenSize");
        Assert.StartsWith("the model would have 1.6 billion parameters (5.96 GiB of weights) and need about ", message);
        Assert.EndsWith(" to train; at most 100 million parameters are allowed (Jobs:MaxParameters).", message);
        Assert.Empty(await client.ListAsync("/training-jobs"));
    }

    [Fact]
    public async Task TheLargestModelTheOldRulesAdmittedIsRefusedAsMoreThanOneBufferHolds()
    {
        var client = factory.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(144), "air.csv");

        var problem = await RefusedAsync(await client.PostJobAsync(Forecast(dataset,
            new { hiddenSize = 65_536, numLayers = 16, bidirectional = true })));

        Assert.Equal("gives 1,580,566,839,308 parameters; one model may have at most 2,147,483,591.", problem.Errors("model.hiddenSize"));
    }

    [Fact]
    public async Task AJobOverTheMemoryBudgetNamesWhatDrivesItWithTheFigures()
    {
        using var tight = RnnServiceFactory.With(new Dictionary<string, string> { ["Roles"] = "api", ["Jobs:MaxTrainingMemoryMiB"] = "256" });
        var client = tight.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(2000), "long.csv");

        var problem = await RefusedAsync(await client.PostJobAsync(Forecast(dataset, new { hiddenSize = 128 },
            new { batchSize = 1024 }, new { kind = "forecast", inputLength = 200, horizon = 1, calendarFeatures = "none" })));

        var message = problem.Errors("training.batchSize");
        Assert.StartsWith("the job would need about ", message);
        Assert.Contains("a training step: ", message);
        Assert.EndsWith("; at most 256 MiB is allowed (Jobs:MaxTrainingMemoryMiB).", message);
        Assert.Equal(message, problem.Errors("task.inputLength"));
        Assert.Empty(await client.ListAsync("/training-jobs"));
    }

    [Fact]
    public async Task ALabellingJobsStepCountsAnOutputAtEveryStep()
    {
        var client = factory.CreateClient();
        // 200 token lists of 50 tokens, 300 classes a step: the per-step outputs dominate a training step.
        var lines = Enumerable.Range(0, 200).Select(i => System.Text.Json.JsonSerializer.Serialize(new
        {
            tokens = Enumerable.Range(0, 50).Select(t => $"w{(i + t) % 40}").ToArray(),
            labels = Enumerable.Range(0, 50).Select(t => (i * 50 + t) % 300).ToArray(),
        }));
        var dataset = await client.UploadDatasetAsync(string.Join('\n', lines), "tags.jsonl");

        var response = await client.PostJobAsync(new { datasetId = dataset, modelName = "tags", task = new { kind = "labelling" }, model = new { hiddenSize = 8 } });
        var job = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // A batch of 32 × 50 steps: the head's 300 outputs at every step, with their gradient, mask and selection
        // (16 bytes each), besides the recurrent part (bidirectional by default).
        var perStep = 16L * 32 * 50 * 300;
        var step = job["estimate"]!["stepBytes"]!.GetValue<long>() - 32 * 1024 * 1024;  // less the engine's working memory
        Assert.InRange(step, perStep, perStep * 3 / 2);
    }

    [Fact]
    public async Task AnAcceptedJobShowsItsEstimateWithTheExactParameterCount()
    {
        var client = factory.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(144), "air.csv");

        var response = await client.PostJobAsync(Forecast(dataset, task: new { kind = "forecast", horizon = 1, calendarFeatures = "none" }));
        var job = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var estimate = job["estimate"]!;
        // LSTM 1 × 64 on one feature, one output: 4·64·(1 + 64) + 2·4·64 + 64 + 1.
        Assert.Equal(17_217, estimate["parameterCount"]!.GetValue<long>());
        // Weights, gradients and Adam's two moments (16 bytes each), and Adam's temporary for weight_hh (256 × 64).
        Assert.Equal(16 * 17_217 + 4 * 256 * 64, estimate["modelBytes"]!.GetValue<long>());
        Assert.Equal(8 * 17_217, estimate["weightCopiesBytes"]!.GetValue<long>());
        var parts = new[] { "modelBytes", "weightCopiesBytes", "dataBytes" }.Sum(part => estimate[part]!.GetValue<long>())
                    + Math.Max(estimate["stepBytes"]!.GetValue<long>(), estimate["validationBytes"]!.GetValue<long>());
        Assert.Equal(Math.Max(parts, estimate["loadingBytes"]!.GetValue<long>()), estimate["peakBytes"]!.GetValue<long>());
        Assert.Equal(job.ToJsonString(), (await client.GetJobAsync(job["id"]!.GetValue<string>())).ToJsonString());
    }

    [Fact]
    public async Task MoreOutputsThanTheEngineTakesIsA400OnTheHorizonNotAFailedJob()
    {
        var client = factory.CreateClient();
        var csv = new StringBuilder("a,b,c,d,e,f,g\n");
        for (var t = 0; t < 21_000; t++) csv.Append(string.Join(',', Enumerable.Range(0, 7).Select(c => (t % 24 + c).ToString()))).Append('\n');
        var dataset = await client.UploadDatasetAsync(csv.ToString(), "wide.csv");

        var problem = await RefusedAsync(await client.PostJobAsync(Forecast(dataset,
            task: new { kind = "forecast", inputLength = 24, horizon = 10_000, calendarFeatures = "none" }, training: new { validationFraction = 0.05 })));

        Assert.Equal("gives the model 70000 outputs; must be between 1 and 65536, got 70000.", problem.Errors("task.horizon"));
    }

    [Theory]
    [InlineData(null, "P1D")]
    [InlineData("PT90M", "PT1H30M")]
    [InlineData("02:00:00", "PT2H")]
    public async Task AJobsTimeLimitIsItsOwnOrTheServersCeiling(string? given, string resolved)
    {
        var client = factory.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(144), "air.csv");

        var id = await client.CreateJobAsync(Forecast(dataset, training: new { maxDuration = given }));

        Assert.Equal(resolved, (await client.GetJobAsync(id))["request"]!["training"]!["maxDuration"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("P2D", "is P2D; at most P1D is allowed (Jobs:MaxJobDuration).")]
    [InlineData("PT0S", "must be positive, got PT0S.")]
    [InlineData("soon", "'soon' is not a duration: use ISO 8601 (PT30M, PT2H, P1D) or hh:mm:ss.")]
    public async Task ATimeLimitBeyondTheCeilingOrNotADurationIsRefused(string given, string message)
    {
        var client = factory.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(144), "air.csv");

        var problem = await RefusedAsync(await client.PostJobAsync(Forecast(dataset, training: new { maxDuration = given })));

        Assert.Equal(message, problem.Errors("training.maxDuration"));
    }

    [Fact]
    public async Task AnImportWhoseShapesDescribeAHugeModelIsRefusedBeforeAnyTensorIsRead()
    {
        var client = factory.CreateClient();
        // A file of a few KB whose zero-stride views claim 12.8 billion values (see CraftedWeights.ExpandedLstm).
        var weights = CraftedWeights.ExpandedLstm();
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("""{"task":{"kind":"regression"}}""", Encoding.UTF8), "spec");
        form.Add(new ByteArrayContent(weights), "weights", "bomb.pt");
        Assert.True(weights.Length < 4096);

        var problem = await RefusedAsync(await client.PostAsync("/models/bomb/versions", form));

        Assert.Equal("the weights hold 12.8 billion parameters (47.7 GiB as float32); at most 100 million parameters are allowed (Jobs:MaxParameters).",
            problem.Errors("weights"));
        Assert.Empty(await client.ListAsync("/models"));
    }

    [Fact]
    public async Task APredictionOverItsMemoryBudgetIsRefusedBeforeItRunsAndASmallerOneIsServed()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string> { ["Inference:MaxRequestMemoryMiB"] = "4" });
        var client = service.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(96), "load.csv");
        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = dataset, modelName = "load", task = new { kind = "forecast", inputLength = 12, horizon = 1, calendarFeatures = "none" }, training = new { epochs = 1 },
        }));
        Assert.Equal("succeeded", job.State());
        var many = Enumerable.Range(0, 64).Select(_ => Enumerable.Range(0, 1000).Select(t => t % 24).ToArray()).ToArray();

        var refused = await client.PostAsJsonAsync("/predict", new { model = "load", inputs = many });
        var served = await client.PostAsJsonAsync("/predict", new { model = "load", inputs = many.Take(2).Select(s => s.Take(50)) });

        var problem = await RefusedAsync(refused);
        var message = problem.Errors("inputs");
        Assert.StartsWith("serving these 64 sequences (64,000 steps) would need about ", message);
        Assert.EndsWith("; one request may use at most 4.00 MiB (Inference:MaxRequestMemoryMiB). Send fewer or shorter sequences.", message);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public void APredictionOfALabellingModelCountsItsOutputsAtEveryStep()
    {
        var tagger = new Domain.Models.ModelSpec { Cell = Domain.Models.CellKind.Lstm, InputSize = 8, VocabularySize = 100, OutputSize = 1000, PerStep = true };
        int[] lengths = [5_000, 5_000];

        var perStep = Domain.Budgets.RequestMemory.Estimate(tagger, lengths, sizeof(long), withStates: false, maxBatch: 64, concurrentCalls: 1);
        var perSequence = Domain.Budgets.RequestMemory.Estimate(tagger with { PerStep = false }, lengths, sizeof(long), withStates: false, maxBatch: 64, concurrentCalls: 1);

        // 10,000 steps × 1,000 classes, 32 bytes each on the way out (the engine's per-step outputs come on top).
        Assert.True(perStep - perSequence >= 32L * 10_000 * 1_000 - 32L * 2 * 1_000, $"{perStep} against {perSequence}");
    }
}
