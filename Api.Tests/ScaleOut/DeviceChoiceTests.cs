using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.ScaleOut;

/// <summary>
/// Who may refuse <c>"device": "cuda"</c>: a process that trains its own jobs knows whether it has a GPU; an api-only
/// replica does not know its workers' devices (GPU workers run apart from CPU API replicas) and queues the job.
/// </summary>
public sealed class DeviceChoiceTests(RnnServiceFactory both, NoWorkerServiceFactory apiOnly)
    : IClassFixture<RnnServiceFactory>, IClassFixture<NoWorkerServiceFactory>
{
    private static readonly bool Cuda = TorchEngine.Query().CudaAvailable;

    [Fact]
    public async Task AProcessThatTrainsRefusesCudaWithoutAGpuNamingTheField()
    {
        var client = both.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "cuda.csv");

        var response = await client.PostJobAsync(CudaJob(dataset, "cuda-both"));

        if (Cuda)
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return;
        }
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("no CUDA device on this server; use auto or cpu.", (await response.ProblemAsync()).Errors("training.device"));
    }

    [Fact]
    public async Task AnApiOnlyProcessQueuesACudaJobAndAWorkerWithoutAGpuFailsItByName()
    {
        var client = apiOnly.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "cuda.csv");

        var response = await client.PostJobAsync(CudaJob(dataset, "cuda-api"));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var job = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        // A worker-only process on the same store claims it.
        using var worker = RnnServiceFactory.With(new Dictionary<string, string>(apiOnly.StoreSettings) { ["Roles"] = "worker" });
        worker.StartServer();
        var done = await client.WaitForEndAsync(job);

        if (Cuda)
        {
            Assert.Equal("succeeded", done.State());
            return;
        }
        Assert.Equal("failed", done.State());
        Assert.Equal("no CUDA device on this worker", done["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ServingOnCudaWithoutAGpuStopsTheStartNamingTheSetting()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string> { ["Roles"] = "api", ["Inference:Device"] = "cuda" });

        if (Cuda)
        {
            var health = (await service.CreateClient().GetFromJsonAsync<JsonObject>("/health/ready"))!;
            Assert.Equal("cuda:0", health["checks"]!["engine"]!["data"]!["inferenceDevice"]!.GetValue<string>());
            return;
        }
        var error = Assert.ThrowsAny<Exception>(() => service.CreateClient());
        Assert.Contains("Inference:Device is cuda, but there is no CUDA device on this server", error.ToString());
    }

    [Fact]
    public async Task ReadinessNamesTheDevicesThatTrainAndServe()
    {
        var client = both.CreateClient();
        using var servingOnCpu = RnnServiceFactory.With(new Dictionary<string, string> { ["Roles"] = "api", ["Inference:Device"] = "cpu" });
        using var workerOnly = RnnServiceFactory.With(new Dictionary<string, string> { ["Roles"] = "worker" });

        var engine = (await client.GetFromJsonAsync<JsonObject>("/health/ready"))!["checks"]!["engine"]!["data"]!;
        var api = (await servingOnCpu.CreateClient().GetFromJsonAsync<JsonObject>("/health/ready"))!["checks"]!["engine"]!["data"]!;
        var worker = (await workerOnly.CreateClient().GetFromJsonAsync<JsonObject>("/health/ready"))!["checks"]!["engine"]!["data"]!;

        var auto = Cuda ? "cuda:0" : "cpu";
        Assert.Equal(auto, engine["trainingDevice"]!.GetValue<string>());
        Assert.Equal(auto, engine["inferenceDevice"]!.GetValue<string>());
        Assert.Equal("cpu", api["inferenceDevice"]!.GetValue<string>());
        Assert.Null(api["trainingDevice"]);
        Assert.Equal(auto, worker["trainingDevice"]!.GetValue<string>());
        Assert.Null(worker["inferenceDevice"]);
    }

    [CudaFact]
    public async Task ACudaJobRecordsItsDeviceAndItsModelServesTheSameOnTheCpu()
    {
        var client = both.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "gpu.csv");

        var job = await client.WaitForEndAsync(await client.CreateJobAsync(CudaJob(dataset, "gpu-trained")));

        Assert.Equal("succeeded", job.State());
        Assert.Equal("cuda:0", job["device"]!.GetValue<string>());
        var version = (await client.GetFromJsonAsync<JsonObject>("/models/gpu-trained/versions/1"))!;
        Assert.Equal("cuda:0", version["device"]!.GetValue<string>());

        // Served on the GPU by this process and on the CPU by an api replica on the same store: the same forecast.
        using var cpuReplica = RnnServiceFactory.With(
            new Dictionary<string, string>(both.StoreSettings) { ["Roles"] = "api", ["Inference:Device"] = "cpu" });
        var request = new { model = "gpu-trained", inputs = new[] { new[] { 1.0, 3, 2, 5, 4, 6 }, new[] { 9.0, 8, 7, 6, 5, 4 } } };
        var onGpu = await (await client.PostAsJsonAsync("/predict", request)).Content.ReadFromJsonAsync<JsonObject>();
        var onCpu = await (await cpuReplica.CreateClient().PostAsJsonAsync("/predict", request)).Content.ReadFromJsonAsync<JsonObject>();
        var gpuForecast = Forecasts(onGpu!);
        var cpuForecast = Forecasts(onCpu!);
        Assert.Equal(4, gpuForecast.Length);
        // Forecasts are in the series' scale (about 100 to 200): within 1e-4 relative.
        for (var i = 0; i < gpuForecast.Length; i++)
            Assert.True(Math.Abs(gpuForecast[i] - cpuForecast[i]) <= 1e-4 * Math.Max(1, Math.Abs(gpuForecast[i])),
                $"forecast[{i}]: {cpuForecast[i]} on the CPU, {gpuForecast[i]} on the GPU");
    }

    private static float[] Forecasts(JsonObject answer) =>
        answer["outputs"]!.AsArray()
            .SelectMany(output => output!["forecast"]!.AsArray().Select(step => step!.AsArray()[0]!.GetValue<float>()))
            .ToArray();

    private static object CudaJob(string dataset, string name) => new
    {
        datasetId = dataset, modelName = name, task = new { kind = "forecast", inputLength = 6, horizon = 2 },
        training = new { epochs = 1, device = "cuda" },
    };
}
