using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Training.Torch.StateDicts;
using Xunit.Abstractions;

namespace RnnService.Api.Tests.Predict;

/// <summary>Models that PyTorch built and ran, generated once per test run by Parity/serving_reference.py.</summary>
public sealed class ServingCases : IDisposable
{
    public ServingCases()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("rnnservice-serving-").FullName;
        PyTorch.RunScript("serving_reference.py", "generate", Directory);
    }

    public string Directory { get; }

    public JsonObject Case(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, name + ".json")))!.AsObject();

    public string Weights(string name) => Path.Combine(Directory, name + ".pt");

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

public sealed class ImportTests(ServingCases cases, ITestOutputHelper output) : IClassFixture<ServingCases>, IDisposable
{
    private readonly RnnServiceFactory factory = new();

    public void Dispose() => factory.Dispose();

    private static async Task<HttpResponseMessage> ImportAsync(HttpClient client, string name, string? spec, byte[]? weights)
    {
        using var form = new MultipartFormDataContent();
        if (spec is not null) form.Add(new StringContent(spec, Encoding.UTF8), "spec");
        if (weights is not null) form.Add(new ByteArrayContent(weights), "weights", "model.pt");
        return await client.PostAsync($"/models/{name}/versions", form);
    }

    [Theory]
    [InlineData("lstm-bi-features")]
    [InlineData("gru-bi-embedding")]
    [InlineData("lstm-embedding")]
    [InlineData("gru-features")]
    [InlineData("lstm-bi-features-attention")]
    [InlineData("gru-embedding-mean")]
    [InlineData("rnn-bi-features-max")]
    [InlineData("gru-bi-embedding-labelling")]
    public async Task AnImportedPyTorchModelAnswersAsPyTorchForLengthsOneTo300AndExportsItsWeightsUnchanged(string name)
    {
        var client = factory.CreateClient();
        var reference = cases.Case(name);

        var imported = await ImportAsync(client, name, reference["spec"]!.ToJsonString(), File.ReadAllBytes(cases.Weights(name)));
        var version = await imported.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(imported.StatusCode == HttpStatusCode.Created, version?.ToJsonString());
        Assert.Equal($"/models/{name}/versions/1", imported.Headers.Location?.OriginalString);
        Assert.Equal("import", version!["source"]!.GetValue<string>());

        var response = await client.PostAsJsonAsync("/predict", new JsonObject
        {
            ["model"] = name, ["inputs"] = reference["inputs"]!.DeepClone(), ["returnStates"] = true,
        });
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(response.IsSuccessStatusCode, answer?.ToJsonString());
        var outputs = answer!["outputs"]!.AsArray();
        var classification = reference["spec"]!["task"]!["kind"]!.GetValue<string>() is "classification" or "labelling";
        var answers = new JsonArray(outputs.Select(o => o![classification ? "probabilities" : "values"]!.DeepClone()).ToArray());
        var states = new JsonArray(outputs.Select(o => (JsonNode)new JsonArray(Enumerable.Range(0, o!["states"]!["forward"]!.AsArray().Count)
            .Select(t => (JsonNode)new JsonArray(o["states"]!["forward"]![t]!.AsArray().Concat(o["states"]!["backward"]?[t]?.AsArray() ?? [])
                .Select(v => v!.DeepClone()).ToArray())).ToArray())).ToArray());
        var outputGap = JsonNumbers.LargestDifference(answers, reference["answers"]);
        var stateGap = JsonNumbers.LargestDifference(states, reference["states"]);
        output.WriteLine($"{name}: largest difference from PyTorch: outputs {outputGap:g3}, states {stateGap:g3}");
        Assert.True(outputGap <= 1e-5, $"outputs differ from PyTorch's by {outputGap}");
        Assert.True(stateGap <= 1e-5, $"states differ from PyTorch's by {stateGap}");

        var exported = Path.Combine(cases.Directory, name + ".exported.pt");
        await File.WriteAllBytesAsync(exported, await client.GetByteArrayAsync($"/models/{name}/versions/1/weights"));
        var comparison = JsonNode.Parse(PyTorch.RunScript("serving_reference.py", "compare", cases.Weights(name), exported))!;
        Assert.True(comparison["identical"]!.GetValue<bool>(), comparison.ToJsonString());
    }

    [Fact]
    public async Task AForecastImportServesForecastsThroughItsPreprocessing()
    {
        var client = factory.CreateClient();
        var reference = cases.Case("gru-features");
        var spec = new JsonObject
        {
            ["task"] = new JsonObject { ["kind"] = "forecast" },
            ["preprocessing"] = new JsonObject
            {
                ["scaling"] = "standard", ["features"] = new JsonArray("load", "temperature"), ["targets"] = new JsonArray("load"),
                ["inputLength"] = 24, ["horizon"] = 1, ["mean"] = new JsonArray(100.0, 20.0), ["std"] = new JsonArray(10.0, 5.0),
            },
        };
        var imported = await ImportAsync(client, "forecaster", spec.ToJsonString(), File.ReadAllBytes(cases.Weights("gru-features")));
        Assert.Equal(HttpStatusCode.Created, imported.StatusCode);

        // Inputs in the data's scale: x·std + mean gives the network exactly the reference's inputs.
        var inputs = new JsonArray(reference["inputs"]!.AsArray().Take(4).Select(sequence => (JsonNode)new JsonArray(sequence!.AsArray()
            .Select(step => (JsonNode)new JsonArray(step![0]!.GetValue<double>() * 10 + 100, step[1]!.GetValue<double>() * 5 + 20)).ToArray())).ToArray());
        var response = await client.PostAsJsonAsync("/predict", new JsonObject { ["model"] = "forecaster", ["inputs"] = inputs });
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(response.IsSuccessStatusCode, answer?.ToJsonString());

        for (var i = 0; i < 4; i++)
        {
            var expected = reference["answers"]![i]![0]!.GetValue<double>() * 10 + 100;
            Assert.Equal(expected, answer!["outputs"]![i]!["forecast"]![0]![0]!.GetValue<double>(), 1e-3);
        }
        var version = await client.GetFromJsonAsync<JsonObject>("/models/forecaster/versions/1");
        Assert.Equal("forecast", version!["task"]!["kind"]!.GetValue<string>());
        Assert.Equal(1, version["task"]!["horizon"]!.GetValue<int>());
    }

    [Fact]
    public async Task ImportsWithMissingExtraOrMisshapedKeysAreRefusedListingThemAndStoreNothing()
    {
        var client = factory.CreateClient();
        var original = StateDictReader.Read(File.OpenRead(cases.Weights("lstm-bi-features")));
        var spec = """{"task":{"kind":"regression"}}""";
        var broken = new StateDict(original
            .Where(t => t.Name != "rnn.bias_hh_l1")
            .Select(t => t.Name == "head.bias" ? t with { Shape = [1, 2] } : t)
            .Append(new NamedTensor("rnn.weight_extra", [1], [0f])));
        using var file = new MemoryStream();
        StateDictWriter.Write(file, broken);
        var filesBefore = Directory.GetFiles(factory.DataDirectory, "*", SearchOption.AllDirectories).Order().ToArray();

        var response = await ImportAsync(client, "broken", spec, file.ToArray());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ProblemAsync()).Errors("weights");
        output.WriteLine(errors);
        Assert.Contains("missing key: rnn.bias_hh_l1", errors);
        Assert.Contains("unexpected key: rnn.weight_extra", errors);
        Assert.Contains("shape mismatch: head.bias is [1, 2] in the file, the model expects [2]", errors);
        Assert.Empty(await client.ListAsync("/models"));
        Assert.Equal(filesBefore, Directory.GetFiles(factory.DataDirectory, "*", SearchOption.AllDirectories).Order().ToArray());
    }

    [Fact]
    public async Task BadImportsAreProblemsNamingTheField()
    {
        var client = factory.CreateClient();
        var weights = File.ReadAllBytes(cases.Weights("lstm-bi-features"));
        const string regression = """{"task":{"kind":"regression"}}""";

        async Task<string> Expect(HttpResponseMessage response, string field)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return (await response.ProblemAsync()).Errors(field);
        }

        Assert.Equal("is gru, but the weights say lstm.",
            await Expect(await ImportAsync(client, "m", """{"task":{"kind":"regression"},"model":{"cell":"gru"}}""", weights), "spec.model.cell"));
        Assert.Equal("is 64, but the weights say 12.",
            await Expect(await ImportAsync(client, "m", """{"task":{"kind":"regression"},"model":{"hiddenSize":64}}""", weights), "spec.model.hiddenSize"));
        Assert.Equal("is attention, but the weights have no attention.weight.",
            await Expect(await ImportAsync(client, "m", """{"task":{"kind":"regression"},"model":{"pooling":"attention"}}""", weights), "spec.model.pooling"));
        Assert.Equal("is mean, but the weights have attention.weight (attention pooling).",
            await Expect(await ImportAsync(client, "m", """{"task":{"kind":"regression"},"model":{"pooling":"mean"}}""",
                File.ReadAllBytes(cases.Weights("lstm-bi-features-attention"))), "spec.model.pooling"));
        Assert.Contains("is required", await Expect(await ImportAsync(client, "m", """{"task":{}}""", weights), "spec.task.kind"));
        Assert.Contains("is required for forecast models",
            await Expect(await ImportAsync(client, "m", """{"task":{"kind":"forecast"}}""", weights), "spec.preprocessing"));
        Assert.Equal("must name one or more of the features.",
            await Expect(await ImportAsync(client, "m", """{"task":{"kind":"forecast"},"preprocessing":{"features":["a","b","c"],"horizon":2}}""", weights), "spec.preprocessing.targets"));
        Assert.Contains("has 3 labels, but head.weight has 2 outputs",
            await Expect(await ImportAsync(client, "m", """{"task":{"kind":"classification"},"preprocessing":{"labels":[0,1,2]}}""", weights), "spec.preprocessing.labels"));
        Assert.Contains("is required", await Expect(await ImportAsync(client, "m", null, weights), "spec"));
        Assert.Contains("not valid JSON", await Expect(await ImportAsync(client, "m", "{task:", weights), "spec"));
        Assert.Contains("is required", await Expect(await ImportAsync(client, "m", regression, null), "weights"));
        Assert.Contains("not a PyTorch state_dict file", await Expect(await ImportAsync(client, "m", regression, "not a zip"u8.ToArray()), "weights"));
        Assert.Contains("must be 1 to 100", await Expect(await ImportAsync(client, "..bad", regression, weights), "name"));
        Assert.Empty(await client.ListAsync("/models"));
    }

    [Fact]
    public async Task ASecondImportOfANameIsItsNextVersion()
    {
        var client = factory.CreateClient();
        var weights = File.ReadAllBytes(cases.Weights("gru-features"));
        const string spec = """{"task":{"kind":"regression"}}""";

        Assert.Equal(HttpStatusCode.Created, (await ImportAsync(client, "twice", spec, weights)).StatusCode);
        var second = await ImportAsync(client, "twice", spec, weights);

        Assert.Equal($"/models/twice/versions/2", second.Headers.Location?.OriginalString);
        var model = await client.GetFromJsonAsync<JsonObject>("/models/twice");
        Assert.Equal(2, model!["aliases"]!["latest"]!.GetValue<int>());
        var parsed = JsonSerializer.Deserialize<JsonObject>(await second.Content.ReadAsStringAsync())!;
        Assert.Equal(9 * 3 * (2 + 9 + 2) + 10, parsed["parameterCount"]!.GetValue<long>());
    }
}
