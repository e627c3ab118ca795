using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Tuning;

/// <summary>
/// Tuning jobs through the API with real training: trials are training jobs; the best is registered; the same seed
/// gives the same trials; cancelling stops every trial; early stopping stops trials; bad searches are 400s by field.
/// </summary>
public sealed class TuningJobTests(RnnServiceFactory factory) : IClassFixture<RnnServiceFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    private static object Search(string dataset, string name, object search, int epochs = 3) => new
    {
        datasetId = dataset, modelName = name,
        task = new { kind = "forecast", inputLength = 12, horizon = 3, calendarFeatures = "none" },
        model = new { hiddenSize = 8 },
        training = new { epochs, batchSize = 16, earlyStoppingPatience = 0 },
        search,
    };

    private Task<string> CreateAsync(object request) => client.CreateTuningAsync(request);

    private Task<JsonObject> WaitAsync(string id, Func<JsonObject, bool>? until = null) => client.WaitForTuningAsync(id, until);

    private static object Space => new Dictionary<string, object>
    {
        ["model.hiddenSize"] = new { choice = new[] { 4, 8, 16 } },
        ["training.learningRate"] = new { logUniform = new[] { 1e-3, 3e-2 } },
    };

    [Fact]
    public async Task TrialsAreTrainingJobsAndTheBestIsRegisteredWithTheSearchAsItsSource()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "tune.csv");
        var id = await CreateAsync(Search(dataset, "tuned", new { space = Space, maxTrials = 4, maxParallel = 2, earlyStopping = "none", seed = 5, selection = "best" }));

        var tuning = await WaitAsync(id);

        Assert.Equal("succeeded", tuning.State());
        var trials = tuning["trials"]!.AsArray().Select(t => t!.AsObject()).ToList();
        Assert.Equal([0, 1, 2, 3], trials.Select(t => t["number"]!.GetValue<int>()));
        Assert.All(trials, t => Assert.Equal("succeeded", t.State()));
        Assert.All(trials, t => Assert.Equal(3, t["epochs"]!.GetValue<int>()));
        // Trial 0 is the shared request as it stands; each other trial is an ordinary job with its values in its request.
        Assert.Empty(trials[0]["parameters"]!.AsObject());
        var defaults = await client.GetJobAsync(trials[0]["jobId"]!.GetValue<string>());
        Assert.Equal(8, defaults["request"]!["model"]!["hiddenSize"]!.GetValue<int>());
        Assert.Equal(0.001, defaults["request"]!["training"]!["learningRate"]!.GetValue<double>());
        foreach (var trial in trials.Skip(1))
        {
            var job = await client.GetJobAsync(trial["jobId"]!.GetValue<string>());
            Assert.Equal(id, job["tuningJobId"]!.GetValue<string>());
            Assert.Equal(trial["parameters"]!["model.hiddenSize"]!.GetValue<int>(), job["request"]!["model"]!["hiddenSize"]!.GetValue<int>());
            Assert.Equal(trial["parameters"]!["training.learningRate"]!.GetValue<double>(), job["request"]!["training"]!["learningRate"]!.GetValue<double>());
        }
        foreach (var trial in trials)
            Assert.Equal((await client.GetJobAsync(trial["jobId"]!.GetValue<string>()))["metrics"]!["mase"]!.GetValue<double>(), trial["metric"]!.GetValue<double>());
        // With selection best, the pick is the lowest MASE, and it is what modelName's version 1 holds, with the search as its source.
        var best = trials.MinBy(t => t["metric"]!.GetValue<double>())!;
        Assert.Equal(best["jobId"]!.GetValue<string>(), tuning["best"]!["jobId"]!.GetValue<string>());
        Assert.Null(tuning["best"]!["keptOver"]);
        Assert.Equal("mase", tuning["request"]!["search"]!["metric"]!.GetValue<string>());
        Assert.Equal(1, tuning["model"]!["version"]!.GetValue<int>());
        var version = (await client.GetFromJsonAsync<JsonObject>("/models/tuned/versions/1"))!;
        Assert.Equal(id, version["source"]!.GetValue<string>());
        Assert.Equal(best["metric"]!.GetValue<double>(), version["metrics"]!["mase"]!.GetValue<double>());
        Assert.Equal(best["parameters"]!["model.hiddenSize"]?.GetValue<int>() ?? 8, version["spec"]!["hiddenSize"]!.GetValue<int>());
        var weights = await client.GetByteArrayAsync("/models/tuned/versions/1/weights");
        var trialVersion = (await client.GetJobAsync(best["jobId"]!.GetValue<string>()))["model"]!["version"]!.GetValue<int>();
        Assert.Equal(await client.GetByteArrayAsync($"/models/{id}/versions/{trialVersion}/weights"), weights);
        var predicted = await client.PostAsJsonAsync("/predict", new { model = "tuned", inputs = new[] { Enumerable.Range(0, 12).Select(i => 100.0 + i).ToArray() } });
        Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);

        // The same seed draws the same trials; another seed others.
        var again = await WaitAsync(await CreateAsync(Search(dataset, "tuned-again", new { space = Space, maxTrials = 4, maxParallel = 2, earlyStopping = "none", seed = 5, selection = "best" })));
        var other = await WaitAsync(await CreateAsync(Search(dataset, "tuned-other", new { space = Space, maxTrials = 4, maxParallel = 2, earlyStopping = "none", seed = 6 })), t => t["trials"]!.AsArray().Count == 4);
        static string Parameters(JsonObject t) => string.Join(";", t["trials"]!.AsArray().Select(trial => trial!["parameters"]!.ToJsonString()));
        Assert.Equal(Parameters(tuning), Parameters(again));
        Assert.Equal(tuning["best"]!["number"]!.GetValue<int>(), again["best"]!["number"]!.GetValue<int>());
        Assert.NotEqual(Parameters(tuning), Parameters(other));
        await WaitAsync(other["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task ByDefaultTheDefaultsStayUnlessTheBestBeatsThemByMoreThanItsStandardError()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "one-se.csv");
        var id = await CreateAsync(Search(dataset, "one-se", new { space = Space, maxTrials = 4, maxParallel = 2, earlyStopping = "none", seed = 5 }));

        var tuning = await WaitAsync(id);

        Assert.Equal("succeeded", tuning.State());
        Assert.Equal("oneStandardError", tuning["request"]!["search"]!["selection"]!.GetValue<string>());
        // Each trial's MASE and its standard error, as its job reports them (the validation part holds two horizons and more).
        var trials = new List<(int Number, string JobId, double Mase, double Error)>();
        foreach (var trial in tuning["trials"]!.AsArray())
        {
            var metrics = (await client.GetJobAsync(trial!["jobId"]!.GetValue<string>()))["metrics"]!;
            trials.Add((trial["number"]!.GetValue<int>(), trial["jobId"]!.GetValue<string>(), metrics["mase"]!.GetValue<double>(),
                metrics["maseStandardError"]!.GetValue<double>()));
        }
        Assert.All(trials, t => Assert.True(t.Error > 0, $"trial {t.Number}: {t.Error}"));
        var lowest = trials.OrderBy(t => t.Mase).ThenBy(t => t.Number).First();
        var defaults = trials.Single(t => t.Number == 0);
        var kept = lowest.Number != 0 && defaults.Mase - lowest.Mase <= lowest.Error;
        var picked = kept ? defaults : lowest;
        var best = tuning["best"]!;
        Assert.Equal(picked.JobId, best["jobId"]!.GetValue<string>());
        Assert.Equal(picked.Error, best["standardError"]!.GetValue<double>());
        if (kept)
        {
            Assert.Equal(lowest.JobId, best["keptOver"]!["jobId"]!.GetValue<string>());
            Assert.Equal(lowest.Error, best["keptOver"]!["standardError"]!.GetValue<double>());
        }
        else Assert.Null(best["keptOver"]);
        // What the search registered is the pick's model.
        var version = (await client.GetFromJsonAsync<JsonObject>("/models/one-se/versions/1"))!;
        Assert.Equal(picked.Mase, version["metrics"]!["mase"]!.GetValue<double>());
        var trialVersion = (await client.GetJobAsync(picked.JobId))["model"]!["version"]!.GetValue<int>();
        Assert.Equal(await client.GetByteArrayAsync($"/models/{id}/versions/{trialVersion}/weights"),
            await client.GetByteArrayAsync("/models/one-se/versions/1/weights"));
    }

    [Fact]
    public async Task AshaStopsTrialsThatTrailAtARungAndTheBestRunsOn()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "asha.csv");
        // One at a time, so that each trial meets the ones before it at the rungs: a rate too small to learn trails.
        var id = await CreateAsync(Search(dataset, "asha", new
        {
            space = new Dictionary<string, object> { ["training.learningRate"] = new { choice = new[] { 1e-6, 3e-2 } } },
            maxTrials = 6, maxParallel = 1, earlyStopping = "asha", metric = "validationLoss", seed = 5, includeDefaults = false,
        }, epochs: 9));

        var tuning = await WaitAsync(id);

        Assert.Equal("succeeded", tuning.State());
        var trials = tuning["trials"]!.AsArray().Select(t => t!.AsObject()).ToList();
        var stopped = trials.Where(t => t["stoppedEarly"]!.GetValue<bool>()).ToList();
        Assert.True(stopped.Count > 0, tuning.ToJsonString());
        // The default grace period, 3: the rungs are epochs 3 and 9 (the last), so no trial stops after its first epoch.
        Assert.Equal(3, tuning["request"]!["search"]!["gracePeriod"]!.GetValue<int>());
        Assert.All(stopped, t => Assert.Equal(3, t["epochs"]!.GetValue<int>()));
        Assert.All(stopped, t => Assert.Equal("pruned", t["stoppedBy"]!.GetValue<string>()));
        var best = trials.Single(t => t["jobId"]!.GetValue<string>() == tuning["best"]!["jobId"]!.GetValue<string>());
        Assert.Equal(9, best["epochs"]!.GetValue<int>());
        Assert.Equal(0.03, best["parameters"]!["training.learningRate"]!.GetValue<double>());
    }

    [Fact]
    public async Task CancellingASearchCancelsItsTrialsAndRegistersNothing()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "cancel.csv");
        var id = await CreateAsync(Search(dataset, "cancelled", new { space = Space, maxTrials = 6, maxParallel = 2, earlyStopping = "none" }, epochs: 500));
        await WaitAsync(id, t => t["trials"]!.AsArray().Any(trial => trial!.AsObject().State() == "running"));

        var response = await client.PostAsync($"/tuning-jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var tuning = await WaitAsync(id);

        Assert.Equal("cancelled", tuning.State());
        Assert.Equal(2, tuning["trials"]!.AsArray().Count);
        Assert.All(tuning["trials"]!.AsArray(), t => Assert.Equal("cancelled", t!.AsObject().State()));
        Assert.Null(tuning["model"]);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/models/cancelled")).StatusCode);
    }

    [Fact]
    public async Task BadSearchesAreRefusedByFieldAndNothingIsStored()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "bad.csv");
        var response = await client.PostAsJsonAsync("/tuning-jobs", Search(dataset, "bad", new
        {
            space = new Dictionary<string, object>
            {
                ["model.hiddenSiz"] = new { choice = new[] { 8 } },
                ["model.numLayers"] = new { choice = Array.Empty<int>() },
                ["model.dropout"] = new { uniform = new[] { 0.5, 0.1 } },
                ["training.learningRate"] = new { logUniform = new[] { 0.0, 0.1 } },
                ["training.batchSize"] = new { choice = new[] { 0, 16 } },
            },
            maxParallel = 0,
            metric = "accuracy",
            gracePeriod = 0,
        }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ProblemAsync();
        Assert.Contains("did you mean model.hiddenSize", problem.Errors("search.space.model.hiddenSiz"));
        Assert.Contains("choice is empty", problem.Errors("search.space.model.numLayers"));
        Assert.Contains("inverted", problem.Errors("search.space.model.dropout"));
        Assert.Contains("above zero", problem.Errors("search.space.training.learningRate"));
        Assert.Contains("training.batchSize must be between 1", problem.Errors("search.space.training.batchSize"));
        Assert.Contains("between 1 and maxTrials", problem.Errors("search.maxParallel"));
        Assert.Contains("mase", problem.Errors("search.metric"));
        Assert.Equal("must be between 1 and 1000 epochs, got 0.", problem.Errors("search.gracePeriod"));
        Assert.DoesNotContain((await client.ListAsync("/tuning-jobs")), t => t!["request"]!["modelName"]!.GetValue<string>() == "bad");

        var selection = await client.PostAsJsonAsync("/tuning-jobs", Search(dataset, "bad", new { selection = "mostLikely" }));
        Assert.Equal(HttpStatusCode.BadRequest, selection.StatusCode);
        Assert.Contains("oneStandardError", (await selection.ProblemAsync()).Errors("search.selection"));
        var typo = await client.PostAsJsonAsync("/tuning-jobs", Search(dataset, "bad", new { selection = "oneStandardErorr", earlyStopping = "ASHA" }));
        var typoProblem = await typo.ProblemAsync();
        Assert.Equal("is 'oneStandardErorr', not one of oneStandardError, best. Did you mean oneStandardError?", typoProblem.Errors("search.selection"));
        Assert.Null(typoProblem["errors"]!["search.earlyStopping"]); // enum values are read in any case

        var reserved = await client.PostAsJsonAsync("/tuning-jobs", Search(dataset, "tune_mine", new { maxTrials = 1 }));
        Assert.Contains("tune_", (await reserved.ProblemAsync()).Errors("modelName"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/tuning-jobs/tune_0000")).StatusCode);
    }

    [Fact]
    public async Task TheEventStreamReportsEachTrialAsItEndsAndEndsWithTheModel()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "events.csv");
        var id = await CreateAsync(Search(dataset, "streamed", new { space = Space, maxTrials = 3, maxParallel = 2, earlyStopping = "none" }, epochs: 2));

        var (mediaType, events) = await client.ReadEventsAsync($"/tuning-jobs/{id}/events");

        Assert.Equal("text/event-stream", mediaType);
        Assert.Equal([0, 1, 2], events.Where(e => e.Name == "trial").Select(e => e.Data["trial"]!["number"]!.GetValue<int>()).Order());
        Assert.All(events.Where(e => e.Name == "trial"), e => Assert.NotNull(e.Data["best"]));
        var last = events[^1];
        Assert.Equal("state", last.Name);
        Assert.Equal("succeeded", last.Data["state"]!.GetValue<string>());
        Assert.Equal(1, last.Data["model"]!["version"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/tuning-jobs/tune_nope/events")).StatusCode);
    }

    [Fact]
    public async Task TheDefaultSpaceVariesTheForecastWindowInSeasons()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(), "default.csv");
        var response = await client.PostAsJsonAsync("/tuning-jobs", new
        {
            datasetId = dataset, modelName = "defaults", task = new { kind = "forecast", horizon = 3 },
            search = new { maxTrials = 1 },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var tuning = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var search = tuning["request"]!["search"]!;
        Assert.Equal([12, 24, 36, 48], search["space"]!["task.inputLength"]!["choice"]!.AsArray().Select(v => v!.GetValue<int>()));
        Assert.Equal(["model.dropout", "model.hiddenSize", "model.numLayers", "task.inputLength", "training.batchSize", "training.learningRate"],
            search["space"]!.AsObject().Select(p => p.Key).Order());
        Assert.Equal("random", search["strategy"]!.GetValue<string>());
        Assert.Equal("asha", search["earlyStopping"]!.GetValue<string>());
        await client.PostAsync($"/tuning-jobs/{tuning["id"]}/cancel", null);
    }
}
