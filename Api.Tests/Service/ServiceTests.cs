using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Service;

public sealed class ServiceTests(RnnServiceFactory factory) : IClassFixture<RnnServiceFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task LivenessAnswersHealthy()
    {
        var body = await client.GetFromJsonAsync<JsonObject>("/health/live");

        Assert.Equal("Healthy", body!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task ReadinessReportsTheEngineDeviceAndLibtorchVersionAndWritableStorage()
    {
        var response = await client.GetAsync("/health/ready");
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", body!["status"]!.GetValue<string>());
        var engine = body["checks"]!["engine"]!["data"]!;
        Assert.Equal(Training.Torch.TorchEngine.Query().CudaAvailable ? "cuda" : "cpu", engine["device"]!.GetValue<string>());
        Assert.Matches(@"^\d+\.\d+\.\d+", engine["libtorchVersion"]!.GetValue<string>());
        Assert.Equal(factory.DataDirectory, body["checks"]!["storage"]!["data"]!["dataDirectory"]!.GetValue<string>());
    }

    [Fact]
    public async Task ReadinessIs503WithTheReasonWhenStorageIsNotWritable()
    {
        var blocked = Path.Combine(Path.GetTempPath(), $"rnnservice-blocked-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(blocked, "a file where the data directory should be");
        try
        {
            using var unwritable = factory.WithWebHostBuilder(b => b.UseSetting("Storage:DataDirectory", blocked));
            var response = await unwritable.CreateClient().GetAsync("/health/ready");
            var body = await response.Content.ReadFromJsonAsync<JsonObject>();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("Unhealthy", body!["checks"]!["storage"]!["status"]!.GetValue<string>());
            Assert.StartsWith($"the storage folder {blocked}{Path.DirectorySeparatorChar}", body["checks"]!["storage"]!["description"]!.GetValue<string>());
        }
        finally
        {
            File.Delete(blocked);
        }
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheHealthEndpoints()
    {
        var document = await client.GetFromJsonAsync<JsonObject>("/openapi/v1.json");

        Assert.StartsWith("3.", document!["openapi"]!.GetValue<string>());
        Assert.Equal("RnnService", document["info"]!["title"]!.GetValue<string>());
        Assert.NotNull(document["paths"]!["/health/live"]!["get"]);
        Assert.NotNull(document["paths"]!["/health/ready"]!["get"]!["responses"]!["200"]);
        Assert.NotNull(document["paths"]!["/health/ready"]!["get"]!["responses"]!["503"]);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesDatasetsJobsAndModels()
    {
        var paths = (await client.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!["paths"]!;

        Assert.NotNull(paths["/datasets"]!["post"]!["requestBody"]!["content"]!["multipart/form-data"]);
        Assert.NotNull(paths["/datasets/{id}"]!["delete"]);
        Assert.NotNull(paths["/training-jobs"]!["post"]!["responses"]!["202"]);
        Assert.NotNull(paths["/training-jobs"]!["post"]!["responses"]!["400"]);
        Assert.NotNull(paths["/training-jobs/{id}/cancel"]!["post"]);
        Assert.NotNull(paths["/training-jobs/{id}/events"]!["get"]);
        Assert.NotNull(paths["/models/{name}/versions/{version}"]!["get"]);
        Assert.NotNull(paths["/models/{name}/versions/{version}/weights"]!["get"]);
    }

    [Fact]
    public async Task SwaggerUiServesItsPagePointingAtTheDocument()
    {
        var page = await client.GetAsync("/swagger");  // redirected to /swagger/index.html
        var initializer = await client.GetStringAsync("/swagger/index.js");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("/openapi/v1.json", initializer);
    }

    [Fact]
    public async Task AnUnknownPathIsAProblemDetails()
    {
        var response = await client.GetAsync("/no-such-resource");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(404, problem!["status"]!.GetValue<int>());
    }
}
