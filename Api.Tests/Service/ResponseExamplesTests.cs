using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Configuration;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Service;

/// <summary>
/// The answers' examples of the OpenAPI document (<see cref="ResponseExamples"/>) are real answers: this test runs the
/// documented requests (the request examples themselves) through the service and keeps each answer under its schema.
/// With <c>RNNSERVICE_RECORD_EXAMPLES=1</c> it writes them to <c>Api/Configuration/response-examples.json</c>; otherwise it
/// fails when an answer's schema has no example there, or when an operation answering JSON shows none. The linter checks
/// each example against its schema (additional properties refused), so a renamed field fails CI until they are recorded again.
/// </summary>
public sealed class ResponseExamplesTests
{
    private readonly Dictionary<string, JsonNode> answers = [];
    private JsonNode document = new JsonObject();

    [Fact]
    public async Task EveryJsonAnswerOfTheDocumentHasARealExample()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string>());
        var client = service.CreateClient();
        document = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;

        await Record(client, "get", "/health/live", "/health/live");
        await Record(client, "get", "/health/ready", "/health/ready");
        var dataset = await Record(client, "post", "/datasets", "/datasets", ApiExamples.Dataset());
        var datasetId = dataset["id"]!.GetValue<string>();
        await Record(client, "get", "/datasets", "/datasets");
        await Record(client, "get", "/datasets/{id}", $"/datasets/{datasetId}");
        await Record(client, "get", "/datasets/{id}/preview", $"/datasets/{datasetId}/preview");

        var job = await Record(client, "post", "/training-jobs", "/training-jobs", ApiExamples.TrainingJob());
        var jobId = job["id"]!.GetValue<string>();
        Assert.Equal("succeeded", (await client.WaitForEndAsync(jobId)).State());
        await Record(client, "get", "/training-jobs/{id}", $"/training-jobs/{jobId}");
        await Record(client, "get", "/training-jobs", "/training-jobs");
        var model = ApiExamples.ModelName;
        await Record(client, "get", "/models", "/models");
        await Record(client, "get", "/models/{name}", $"/models/{model}");
        await Record(client, "get", "/models/{name}/versions/{version}", $"/models/{model}/versions/1");
        await Record(client, "get", "/models/{name}/versions/{version}/evaluation", $"/models/{model}/versions/1/evaluation");
        await Record(client, "post", "/models/{name}/versions/{version}/matches", $"/models/{model}/versions/1/matches", Example("/models/{name}/versions/{version}/matches"));
        await Record(client, "put", "/models/{name}/aliases/{alias}", $"/models/{model}/aliases/champion", Example("/models/{name}/aliases/{alias}", "put"));
        await Record(client, "post", "/predict", "/predict", ApiExamples.Prediction());

        var prediction = await Record(client, "post", "/prediction-jobs", "/prediction-jobs", Example("/prediction-jobs"));
        var predictionId = prediction["id"]!.GetValue<string>();
        Assert.Equal("succeeded", (await client.WaitForEndAsync(predictionId)).State());
        await Record(client, "get", "/prediction-jobs/{id}", $"/prediction-jobs/{predictionId}");
        await Record(client, "get", "/prediction-jobs", "/prediction-jobs");

        var tuning = await Record(client, "post", "/tuning-jobs", "/tuning-jobs", ApiExamples.TuningJob());
        var tuningId = tuning["id"]!.GetValue<string>();
        await Record(client, "get", "/tuning-jobs/{id}", $"/tuning-jobs/{tuningId}");
        await Record(client, "get", "/tuning-jobs", "/tuning-jobs");
        await Record(client, "post", "/tuning-jobs/{id}/cancel", $"/tuning-jobs/{tuningId}/cancel");

        var path = Path.Combine(Path.GetDirectoryName(PyTorch.Readme())!, "Api", "Configuration", "response-examples.json");
        if (Environment.GetEnvironmentVariable("RNNSERVICE_RECORD_EXAMPLES") == "1")
        {
            var recorded = new JsonObject(answers.OrderBy(answer => answer.Key, StringComparer.Ordinal)
                .Select(answer => KeyValuePair.Create(answer.Key, (JsonNode?)answer.Value)));
            await File.WriteAllTextAsync(path, recorded.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
            return;
        }
        var kept = JsonNode.Parse(await File.ReadAllTextAsync(path))!.AsObject();
        Assert.True(answers.Keys.All(kept.ContainsKey),
            "answers without an example (RNNSERVICE_RECORD_EXAMPLES=1 scripts/test.sh --filter ResponseExamples records them): "
            + string.Join(", ", answers.Keys.Where(key => !kept.ContainsKey(key))));
        var without = (from item in document["paths"]!.AsObject()
                       from operation in item.Value!.AsObject()
                       from response in operation.Value!["responses"]!.AsObject()
                       where response.Key.StartsWith('2') && response.Value!["content"]?["application/json"] is { } media && media["example"] is null
                       select $"{operation.Key.ToUpperInvariant()} {item.Key}").ToList();
        Assert.True(without.Count == 0, "operations answering JSON without an example: " + string.Join(", ", without));
    }

    private JsonNode Example(string template, string method = "post") =>
        document["paths"]![template]![method]!["requestBody"]!["content"]!["application/json"]!["example"]!.DeepClone();

    /// <summary>Sends the request, checks it succeeded, and keeps its answer under the schema the document gives it.</summary>
    private async Task<JsonNode> Record(HttpClient client, string method, string template, string path, JsonNode? body = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path)
        {
            Content = body is null ? null : new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        var answer = JsonNode.Parse(text)!;
        var schema = document["paths"]![template]![method]!["responses"]![((int)response.StatusCode).ToString()]?["content"]?["application/json"]?["schema"]?["$ref"];
        if (schema is not null) answers.TryAdd(schema.GetValue<string>().Split('/')[^1], Shorten(answer.DeepClone()));
        return answer;
    }

    /// <summary>Lists cut to their first two items, long strings to 200 characters: an example, not a dump.</summary>
    private static JsonNode Shorten(JsonNode node)
    {
        switch (node)
        {
            case JsonArray array:
                while (array.Count > 2) array.RemoveAt(array.Count - 1);
                foreach (var item in array) if (item is not null) Shorten(item);
                break;
            case JsonObject value:
                foreach (var (name, item) in value.ToList())
                    if (item is JsonValue text && text.TryGetValue<string>(out var s) && s.Length > 200) value[name] = s[..200] + "…";
                    else if (item is not null) Shorten(item);
                break;
        }
        return node;
    }
}
