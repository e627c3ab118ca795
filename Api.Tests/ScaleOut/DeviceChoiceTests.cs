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

    private static object CudaJob(string dataset, string name) => new
    {
        datasetId = dataset, modelName = name, task = new { kind = "forecast", inputLength = 6, horizon = 2 },
        training = new { epochs = 1, device = "cuda" },
    };
}
