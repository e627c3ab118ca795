using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.ScaleOut;

/// <summary>
/// Scale-out for real: one API process and two worker processes (each <c>dotnet RnnService.Api.dll</c>, configured
/// by environment variables as in a container) on one PostgreSQL database and one shared data folder.
/// </summary>
public sealed partial class ScaleOutTests : IDisposable
{
    private readonly PostgresDatabase database = new();
    private readonly string sharedFolder = Directory.CreateTempSubdirectory("rnnservice-shared-").FullName;
    private readonly List<ServiceProcess> processes = [];

    [Fact]
    public async Task TwoWorkersShareTenQueuedJobsAndRunEachExactlyOnce()
    {
        var (api, workers) = await StartAsync();
        var dataset = await api.UploadDatasetAsync(TestData.SeasonalCsv(120), "shared.csv");
        var jobs = new List<string>();
        for (var n = 0; n < 10; n++) jobs.Add(await api.CreateJobAsync(SmallJob(dataset, $"shared-{n}")));

        foreach (var job in jobs) Assert.Equal("succeeded", (await api.WaitForEndAsync(job, timeoutSeconds: 180)).State());

        var claims = Claims(workers);
        Assert.Equal(jobs.Order(), claims.Select(claim => claim.Job).Order());
        Assert.All(workers, worker => Assert.Contains(claims, claim => claim.Worker == worker));
        await AssertEachJobRegisteredOneVersionAsync(api, jobs);
        // The API process serves what the workers trained, reading weights from the shared folder.
        var predicted = await api.PostAsJsonAsync("/predict", new { model = "shared-7", inputs = new[] { Enumerable.Range(0, 12).Select(i => 100.0 + i).ToArray() } });
        Assert.True(predicted.IsSuccessStatusCode, await predicted.Content.ReadAsStringAsync());
        Assert.Equal(3, (await predicted.Content.ReadFromJsonAsync<JsonObject>())!["outputs"]![0]!["forecast"]!.AsArray().Count);
    }

    [Fact]
    public async Task KillingAWorkerMidJobLetsTheOtherResumeItAndNothingIsLostOrDuplicated()
    {
        var (api, workers) = await StartAsync();
        var longData = await api.UploadDatasetAsync(TestData.SeasonalCsv(480), "long.csv");
        var shortData = await api.UploadDatasetAsync(TestData.SeasonalCsv(120), "short.csv");
        var survivor = await api.CreateJobAsync(new
        {
            datasetId = longData, modelName = "survivor",
            task = new { kind = "forecast", inputLength = 24, horizon = 6, calendarFeatures = "none" },
            model = new { hiddenSize = 24 },
            training = new { epochs = 20, batchSize = 8, earlyStoppingPatience = 0 },
        });
        var jobs = new List<string> { survivor };
        for (var n = 0; n < 9; n++) jobs.Add(await api.CreateJobAsync(SmallJob(shortData, $"small-{n}")));

        var running = await api.WaitForJobAsync(survivor, job => job["progress"]?["epoch"]?.GetValue<int>() >= 3);
        var epochAtKill = running["progress"]!["epoch"]!.GetValue<int>();
        var holder = Claims(workers).Single(claim => claim.Job == survivor).Worker;
        holder.Kill();

        foreach (var job in jobs) Assert.Equal("succeeded", (await api.WaitForEndAsync(job, timeoutSeconds: 180)).State());
        var done = await api.GetJobAsync(survivor);
        Assert.Equal(2, done["attempts"]!.GetValue<int>());
        var history = done["history"]!.AsArray().Select(e => (Epoch: e!["epoch"]!.GetValue<int>(), Attempt: e["attempt"]!.GetValue<int>())).ToList();
        Assert.Equal(Enumerable.Range(1, 20), history.Select(e => e.Epoch));
        var resumedAt = history.First(e => e.Attempt == 2).Epoch;
        Assert.True(resumedAt > epochAtKill, $"resumed at epoch {resumedAt}, but epoch {epochAtKill} was done before the kill");

        // The survivor's second claim is the other worker's; every other job was claimed once, and ran once.
        var claims = Claims(workers);
        var other = workers.Single(worker => worker != holder);
        Assert.Equal([holder, other], claims.Where(claim => claim.Job == survivor).Select(claim => claim.Worker));
        Assert.Equal(jobs.Skip(1).Order(), claims.Where(claim => claim.Job != survivor).Select(claim => claim.Job).Order());
        foreach (var job in jobs.Skip(1)) Assert.Equal(1, (await api.GetJobAsync(job))["attempts"]!.GetValue<int>());
        await AssertEachJobRegisteredOneVersionAsync(api, jobs);
    }

    [Fact]
    public async Task ATuningJobSharesItsTrialsOverBothWorkersAndSurvivesOneBeingKilled()
    {
        var (api, workers) = await StartAsync();
        var dataset = await api.UploadDatasetAsync(TestData.SeasonalCsv(240), "tuned.csv");
        object Search(string name) => new
        {
            datasetId = dataset, modelName = name,
            task = new { kind = "forecast", inputLength = 12, horizon = 3, calendarFeatures = "none" },
            training = new { epochs = 12, batchSize = 8, earlyStoppingPatience = 0 },
            search = new
            {
                space = new Dictionary<string, object>
                {
                    ["model.hiddenSize"] = new { choice = new[] { 8, 16, 24 } },
                    ["training.learningRate"] = new { logUniform = new[] { 1e-3, 3e-2 } },
                },
                maxTrials = 6, maxParallel = 2, earlyStopping = "none", seed = 9,
            },
        };
        var killed = await api.CreateTuningAsync(Search("tuned-killed"));

        // Once both workers hold a trial, kill the one holding the first after a few of its epochs.
        var busy = await api.WaitForTuningAsync(killed, t => t["trials"]!.AsArray().Count(trial => trial!["state"]!.GetValue<string>() == "running") == 2);
        var first = busy["trials"]!.AsArray().First(trial => trial!["state"]!.GetValue<string>() == "running")!["jobId"]!.GetValue<string>();
        await api.WaitForJobAsync(first, job => job["progress"]?["epoch"]?.GetValue<int>() >= 3);
        var holder = Claims(workers).Last(claim => claim.Job == first).Worker;
        Assert.Equal(2, Claims(workers).Select(claim => claim.Worker).Distinct().Count());
        holder.Kill();

        var ended = await api.WaitForTuningAsync(killed);
        Assert.Equal("succeeded", ended["state"]!.GetValue<string>());
        Assert.Equal(6, ended["trials"]!.AsArray().Count);
        Assert.All(ended["trials"]!.AsArray(), trial => Assert.Equal("succeeded", trial!["state"]!.GetValue<string>()));
        Assert.Equal(2, (await api.GetJobAsync(first))["attempts"]!.GetValue<int>());

        // The same search, uninterrupted on the surviving worker, ends with the same trials and the same best.
        var again = await api.WaitForTuningAsync(await api.CreateTuningAsync(Search("tuned-whole")), timeoutSeconds: 300);
        Assert.Equal("succeeded", again["state"]!.GetValue<string>());
        static string Parameters(JsonObject t) => string.Join(";", t["trials"]!.AsArray().Select(trial => trial!["parameters"]!.ToJsonString()));
        Assert.Equal(Parameters(ended), Parameters(again));
        Assert.Equal(again["best"]!["number"]!.GetValue<int>(), ended["best"]!["number"]!.GetValue<int>());
        Assert.Equal(again["best"]!["metric"]!.GetValue<double>(), ended["best"]!["metric"]!.GetValue<double>(), 1e-9);
        Assert.Equal(killed, (await api.GetFromJsonAsync<JsonObject>("/models/tuned-killed/versions/1"))!["source"]!.GetValue<string>());
        Assert.Single((await api.GetFromJsonAsync<JsonObject>("/models/tuned-killed"))!["versions"]!.AsArray());
    }

    [Fact]
    public async Task EachRoleServesWhatItIsForAndReportsItsOwnReadiness()
    {
        var (api, workers) = await StartAsync();
        using var worker = new HttpClient { BaseAddress = workers[0].Address };

        var apiReady = (await api.GetFromJsonAsync<JsonObject>("/health/ready"))!;
        var workerReady = (await worker.GetFromJsonAsync<JsonObject>("/health/ready"))!;

        Assert.Equal("api", apiReady["checks"]!["storage"]!["data"]!["roles"]!.GetValue<string>());
        Assert.Equal("worker", workerReady["checks"]!["storage"]!["data"]!["roles"]!.GetValue<string>());
        Assert.Equal("postgres", workerReady["checks"]!["storage"]!["data"]!["provider"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await worker.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await worker.GetAsync("/datasets")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/datasets")).StatusCode);
        // The api role trains nothing: with the workers gone, a job stays queued.
        foreach (var process in workers) process.Kill();
        var dataset = await api.UploadDatasetAsync(TestData.SeasonalCsv(120), "idle.csv");
        var job = await api.CreateJobAsync(SmallJob(dataset, "idle"));
        await Task.Delay(1000);
        Assert.Equal("queued", (await api.GetJobAsync(job)).State());
    }

    private async Task<(HttpClient Api, ServiceProcess[] Workers)> StartAsync()
    {
        var api = Start("api");
        ServiceProcess[] workers = [Start("worker"), Start("worker")];
        var client = await api.ReadyClientAsync();
        foreach (var worker in workers) await worker.ReadyClientAsync();
        return (client, workers);
    }

    private ServiceProcess Start(string role)
    {
        var environment = new Dictionary<string, string>(database.EnvironmentVariables)
        {
            ["Roles"] = role,
            ["Storage__DataDirectory"] = sharedFolder,
        };
        var process = ServiceProcess.Start(environment);
        processes.Add(process);
        return process;
    }

    private static object SmallJob(string dataset, string name) => new
    {
        datasetId = dataset, modelName = name,
        task = new { kind = "forecast", inputLength = 12, horizon = 3, calendarFeatures = "none" },
        model = new { hiddenSize = 8 },
        training = new { epochs = 3, batchSize = 16, earlyStoppingPatience = 0 },
    };

    /// <summary>Every claim each worker logged ("Job … claimed by …"), in the order they were made.</summary>
    private static List<(ServiceProcess Worker, string Job)> Claims(IEnumerable<ServiceProcess> workers) =>
        workers.SelectMany(worker => worker.Lines.Select(line => ClaimLine().Match(line)).Where(match => match.Success)
                .Select(match => (Worker: worker, Job: match.Groups[1].Value, Attempt: int.Parse(match.Groups[2].Value))))
            .OrderBy(claim => claim.Attempt).Select(claim => (claim.Worker, claim.Job)).ToList();

    /// <summary>Each job's model has exactly one version, made by that job: nothing lost, nothing registered twice.</summary>
    private static async Task AssertEachJobRegisteredOneVersionAsync(HttpClient api, IEnumerable<string> jobs)
    {
        foreach (var id in jobs)
        {
            var job = await api.GetJobAsync(id);
            var name = job["model"]!["name"]!.GetValue<string>();
            Assert.Equal(1, job["model"]!["version"]!.GetValue<int>());
            var model = (await api.GetFromJsonAsync<JsonObject>($"/models/{name}"))!;
            Assert.Single(model["versions"]!.AsArray());
            Assert.Equal(id, (await api.GetFromJsonAsync<JsonObject>($"/models/{name}/versions/1"))!["source"]!.GetValue<string>());
        }
    }

    [GeneratedRegex(@"Job (job_\w+) claimed by \S+ \(attempt (\d+)\)")]
    private static partial Regex ClaimLine();

    public void Dispose()
    {
        foreach (var process in processes) process.Dispose();
        database.Dispose();
        Directory.Delete(sharedFolder, recursive: true);
    }
}
