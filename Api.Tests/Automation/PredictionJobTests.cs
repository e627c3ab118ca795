using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Training.Data;
using RnnService.Training.Engine;
using RnnService.Training.Predictions;
using RnnService.Training.Registry;
using RnnService.Training.Storage;
using RnnService.Training.Tasks;

namespace RnnService.Api.Tests.Automation;

/// <summary>
/// Prediction jobs over stored datasets, run by the real worker: a forecast for each series equal to what /predict answers
/// for its last window, quantiles included; answers for each text of a corpus; resumption that writes each row once; and
/// requests that cannot run refused by name.
/// </summary>
public sealed class PredictionJobTests(RnnServiceFactory factory) : IClassFixture<RnnServiceFactory>, IAsyncLifetime
{
    private readonly HttpClient client = factory.CreateClient();
    private string series = "";

    /// <summary>Three monthly series (a, b, c) of 48 months, each its own level and phase.</summary>
    private static string ThreeSeriesCsv()
    {
        var text = new StringBuilder("series,month,load\n");
        foreach (var (name, level) in new[] { ("a", 100.0), ("b", 300.0), ("c", 50.0) })
            for (var i = 0; i < 48; i++)
                text.Append(CultureInfo.InvariantCulture, $"{name},{2000 + i / 12}-{i % 12 + 1:00},{level + i + 20 * Math.Sin((i + level) * Math.PI / 6):F2}\n");
        return text.ToString();
    }

    public async Task InitializeAsync()
    {
        series = await client.UploadDatasetAsync(ThreeSeriesCsv(), "three.csv");
        if ((await client.GetAsync("/models/batch-forecast")).IsSuccessStatusCode) return;
        var job = await client.WaitForEndAsync(await client.CreateJobAsync(new
        {
            datasetId = series, modelName = "batch-forecast",
            task = new { kind = "forecast", inputLength = 12, horizon = 3, season = 12, quantiles = new[] { 0.1, 0.5, 0.9 } },
            model = new { cell = "gru", hiddenSize = 4 },
            training = new { epochs = 2, batchSize = 16 },
        }));
        Assert.Equal("succeeded", job.State());
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<JsonObject> RunAsync(object request)
    {
        var response = await client.PostAsJsonAsync("/prediction-jobs", request);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await client.WaitForEndAsync((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task EverySeriesIsForecastAsPredictForecastsItsLastWindow()
    {
        var job = await RunAsync(new { model = "batch-forecast", datasetId = series });
        Assert.True(job.State() == "succeeded", job.ToJsonString());
        Assert.Equal("batch-forecast:1", job["request"]!["model"]!.GetValue<string>());
        Assert.Equal(9, job["counts"]!["rows"]!.GetValue<double>());

        var response = await client.GetAsync(job["results"]!.GetValue<string>());
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.Equal("series,step,time,target,forecast,q0.1,q0.5,q0.9", lines[0]);
        Assert.Equal(1 + 3 * 3, lines.Length);

        // The same windows through /predict: the last 12 months of each series, from the month they start.
        var csv = ThreeSeriesCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(',')).ToList();
        foreach (var name in new[] { "a", "b", "c" })
        {
            var rows = csv.Where(r => r[0] == name).ToList();
            var window = rows.TakeLast(12).ToList();
            var predicted = await client.PostAsJsonAsync("/predict", new
            {
                model = "batch-forecast:1",
                inputs = new[] { window.Select(r => new[] { double.Parse(r[2], CultureInfo.InvariantCulture) }).ToArray() },
                starts = new[] { window[0][1] },
            });
            Assert.True(predicted.IsSuccessStatusCode, await predicted.Content.ReadAsStringAsync());
            var output = (await predicted.Content.ReadFromJsonAsync<JsonObject>())!["outputs"]![0]!;
            var written = lines.Skip(1).Select(l => l.Split(',')).Where(r => r[0] == name).ToList();
            Assert.Equal(["1", "2", "3"], written.Select(r => r[1]));
            Assert.Equal("2004-01-01T00:00:00.0000000+00:00", written[0][2]);
            for (var h = 0; h < 3; h++)
            {
                Assert.Equal("load", written[h][3]);
                Assert.Equal(output["forecast"]![h]![0]!.GetValue<double>(), double.Parse(written[h][4], CultureInfo.InvariantCulture), 9);
                Assert.Equal(output["quantiles"]!["0.9"]![h]![0]!.GetValue<double>(), double.Parse(written[h][7], CultureInfo.InvariantCulture), 9);
                Assert.True(double.Parse(written[h][5], CultureInfo.InvariantCulture) <= double.Parse(written[h][7], CultureInfo.InvariantCulture));
            }
        }
    }

    [Fact]
    public async Task NamedSeriesAndAShorterHorizonAreWhatIsWritten()
    {
        var job = await RunAsync(new { model = "batch-forecast@latest", datasetId = "three", series = new[] { "b" }, horizon = 2 });
        Assert.True(job.State() == "succeeded", job.ToJsonString());

        var lines = (await client.GetStringAsync(job["results"]!.GetValue<string>())).TrimEnd('\n').Split('\n').Skip(1).ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, line => Assert.StartsWith("b,", line));
    }

    [Fact]
    public async Task ASeriesTheDatasetLacksFailsTheJobNamingIt()
    {
        var job = await RunAsync(new { model = "batch-forecast", datasetId = series, series = new[] { "a", "zz" } });

        Assert.Equal("failed", job.State());
        Assert.Contains("'zz'", job["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, (await client.GetAsync($"/prediction-jobs/{job["id"]!.GetValue<string>()}/results")).StatusCode);
    }

    [Fact]
    public async Task EveryTextOfACorpusGetsItsAnswerAsJsonLines()
    {
        var texts = await client.UploadDatasetAsync(TestData.SentimentJsonl(40), "sentiment.jsonl");
        if (!(await client.GetAsync("/models/batch-texts")).IsSuccessStatusCode)
            Assert.Equal("succeeded", (await client.WaitForEndAsync(await client.CreateJobAsync(new
            {
                datasetId = texts, modelName = "batch-texts", task = new { kind = "classification" },
                model = new { hiddenSize = 4, embeddingDim = 4 }, training = new { epochs = 1 },
            }))).State());

        var job = await RunAsync(new { model = "batch-texts", datasetId = texts });
        Assert.True(job.State() == "succeeded", job.ToJsonString());

        var response = await client.GetAsync(job["results"]!.GetValue<string>());
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n').Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(40, lines.Count);
        Assert.Equal(Enumerable.Range(0, 40), lines.Select(l => l["index"]!.GetValue<int>()));
        Assert.All(lines, l => Assert.NotNull(l["label"]));
    }

    [Fact]
    public async Task AResumedRunWritesEachRowOnce()
    {
        // The worker's own steps, with a chunk of one series: the first run dies after its first chunk is recorded and
        // leaves half a row past it; the resumed run must cut that off and go on.
        var services = factory.Services;
        var record = (await services.GetRequiredService<ModelRegistry>().FindAsync("batch-forecast", 1))!;
        var files = services.GetRequiredService<FileStore>();
        var dataset = (await client.GetFromJsonAsync<JsonObject>($"/datasets/{series}"))!;
        var parsed = DatasetParser.Parse(files.DatasetPath(series + ".csv"), Domain.Datasets.DatasetFormat.Csv);
        Assert.Equal("three", dataset["name"]!.GetValue<string>());
        var spec = StoredJson.Read<ModelSpec>(record.Spec);
        var task = StoredJson.Read<TaskOptions>(record.Task);
        var served = TaskKinds.For(task.Kind!.Value).Serve(spec, task, record.Preprocessing);
        using var weights = File.OpenRead(files.WeightsPath(record.WeightsFile));
        using var network = services.GetRequiredService<ISequenceEngine>().Load(spec, weights);
        var request = new PredictionJobRequest { Model = "batch-forecast:1", DatasetId = series };
        string whole = Path.GetTempFileName(), resumed = Path.GetTempFileName();
        try
        {
            PredictionRun.Run(network, served, request, parsed, whole, null, _ => { }, CancellationToken.None, chunkSize: 1);
            PredictionProgress? recorded = null;
            Assert.Throws<IOException>(() => PredictionRun.Run(network, served, request, parsed, resumed, null, progress =>
            {
                recorded = progress;
                throw new IOException("the worker died");
            }, CancellationToken.None, chunkSize: 1));
            await File.AppendAllTextAsync(resumed, "c,1,2004-01-01,lo");

            var end = PredictionRun.Run(network, served, request, parsed, resumed, recorded, _ => { }, CancellationToken.None, chunkSize: 1);

            Assert.Equal(1, recorded!.Done);
            Assert.Equal(3, end.Done);
            Assert.Equal(9, end.Rows);
            Assert.Equal(await File.ReadAllTextAsync(whole), await File.ReadAllTextAsync(resumed));
        }
        finally
        {
            File.Delete(whole);
            File.Delete(resumed);
        }
    }

    [Theory]
    [InlineData("""{"datasetId":"three"}""", "model")]
    [InlineData("""{"model":"nothing-here","datasetId":"three"}""", "model")]
    [InlineData("""{"model":"batch-forecast","datasetId":"ds_none"}""", "datasetId")]
    [InlineData("""{"model":"batch-forecast","datasetId":"three","horizon":4}""", "horizon")]
    [InlineData("""{"model":"batch-forecast","datasetId":"three","horizn":2}""", "horizn")]
    [InlineData("""{"model":"batch-forecast","datasetId":"three","series":[""]}""", "series")]
    public async Task ARequestThatCannotRunIsA400NamingTheField(string body, string field)
    {
        var response = await client.PostAsync("/prediction-jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.ProblemAsync())["errors"]![field]);
    }

    [Fact]
    public async Task AJobOverTheMemoryLimitIsA400NamingTheDatasetAndQueuesNothing()
    {
        // The same store with a per-job limit of 32 MiB: the engine's working memory alone is that much.
        using var tight = factory.WithWebHostBuilder(builder => builder.UseSetting("Jobs:MaxTrainingMemoryMiB", "32"));
        var client = tight.CreateClient();
        var before = (await client.ListAsync("/prediction-jobs")).Count;

        var response = await client.PostAsJsonAsync("/prediction-jobs", new { model = "batch-forecast", datasetId = series });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.ProblemAsync())["errors"]!["datasetId"]![0]!.GetValue<string>();
        Assert.Contains("Jobs:MaxTrainingMemoryMiB", problem);
        Assert.Contains("batch-forecast:1", problem);
        Assert.Equal(before, (await client.ListAsync("/prediction-jobs")).Count);
        // Under the default limit the same request is queued.
        Assert.Equal(HttpStatusCode.Accepted, (await this.client.PostAsJsonAsync("/prediction-jobs", new { model = "batch-forecast", datasetId = series })).StatusCode);
    }

    [Fact]
    public async Task PredictionJobsAreNotTrainingJobs()
    {
        var job = await RunAsync(new { model = "batch-forecast", datasetId = series, series = new[] { "a" } });

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/training-jobs/{job["id"]!.GetValue<string>()}")).StatusCode);
        Assert.DoesNotContain(await client.ListAsync("/training-jobs"), j => j!["id"]!.GetValue<string>() == job["id"]!.GetValue<string>());
        Assert.Contains(await client.ListAsync("/prediction-jobs"), j => j!["id"]!.GetValue<string>() == job["id"]!.GetValue<string>());
    }
}
