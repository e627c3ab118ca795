using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Service;

/// <summary>What Swagger UI's "Try it out" does: send each operation's example as it stands.</summary>
public sealed class SwaggerFlowTests : IDisposable
{
    private readonly RnnServiceFactory factory = new();

    public void Dispose() => factory.Dispose();

    private static JsonNode Example(JsonNode document, string path, string contentType = "application/json") =>
        document["paths"]![path]!["post"]!["requestBody"]!["content"]![contentType]!["example"]
        ?? throw new Xunit.Sdk.XunitException($"POST {path} has no {contentType} example");

    [Fact]
    public async Task TheDocumentsExamplesUploadTrainAndPredictOnAFreshService()
    {
        var client = factory.CreateClient();
        var document = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;

        var upload = await client.PostAsync("/datasets",
            new StringContent(Example(document, "/datasets").ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(upload.StatusCode == HttpStatusCode.Created, await upload.Content.ReadAsStringAsync());

        var created = await client.PostAsync("/training-jobs",
            new StringContent(Example(document, "/training-jobs").ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(created.StatusCode == HttpStatusCode.Accepted, await created.Content.ReadAsStringAsync());
        var job = await client.WaitForEndAsync((await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>(), 300);
        Assert.Equal("succeeded", job.State());

        var predicted = await client.PostAsync("/predict",
            new StringContent(Example(document, "/predict").ToJsonString(), Encoding.UTF8, "application/json"));
        var answer = await predicted.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(predicted.StatusCode == HttpStatusCode.OK, answer?.ToJsonString());
        var forecast = answer!["outputs"]![0]!["forecast"]!.AsArray();
        Assert.Equal(12, forecast.Count);
        // 1961's passengers, in thousands: the model answers in the data's scale.
        Assert.All(forecast, month => Assert.InRange(month![0]!.GetValue<double>(), 250, 800));

        // The tuning example searches the same data: accepted as it stands, then cancelled (its trials are tested elsewhere).
        var tuning = await client.PostAsync("/tuning-jobs",
            new StringContent(Example(document, "/tuning-jobs").ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(tuning.StatusCode == HttpStatusCode.Accepted, await tuning.Content.ReadAsStringAsync());
        var id = (await tuning.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/tuning-jobs/{id}/cancel", null)).StatusCode);
    }

    [Fact]
    public async Task EveryRequestBodyHasAnExample()
    {
        var document = JsonNode.Parse(await factory.CreateClient().GetStringAsync("/openapi/v1.json"))!;

        var missing = (from path in document["paths"]!.AsObject()
                       from operation in path.Value!.AsObject()
                       where operation.Value!["requestBody"] is not null
                       from media in operation.Value!["requestBody"]!["content"]!.AsObject()
                       where media.Value!["example"] is null && media.Value["examples"] is null
                       select $"{operation.Key.ToUpperInvariant()} {path.Key} ({media.Key})").ToList();

        Assert.True(missing.Count == 0, "request bodies without an example: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task InputsAreDescribedAsListsOfStepsOfNumbers()
    {
        var client = factory.CreateClient();
        var document = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;
        var schemas = document["components"]!["schemas"]!;

        // In place, not a shared schema (a nullable reference is a oneOf that client generators cannot write), with each
        // property's own description.
        foreach (var name in new[] { "inputs", "future" })
        {
            var property = schemas["PredictRequest"]!["properties"]![name]!;
            Assert.Null(property["oneOf"]);
            Assert.Equal("""["null","array"]""", property["type"]!.ToJsonString());
            Assert.Equal(2, property["items"]!["items"]!["oneOf"]!.AsArray().Count);
            Assert.Contains(name == "inputs" ? "Sequences of any lengths" : "known-future", property["description"]!.GetValue<string>());
        }
        Assert.Null(schemas["SequenceInputs"]);
        Assert.NotNull(document["paths"]!["/models/{name}/versions"]!["post"]!["requestBody"]!["content"]!["multipart/form-data"]);
    }
}
