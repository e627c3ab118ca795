using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Jobs;
using RnnService.Training.Storage;

namespace RnnService.Api.Tests.Automation;

/// <summary>
/// A field the API does not have is a 400 naming it, with the field it is probably a typo of, on every JSON body and form;
/// nothing is stored. The OpenAPI schemas say so (additionalProperties: false).
/// </summary>
public sealed class StrictFieldsTests(NoWorkerServiceFactory factory) : IClassFixture<NoWorkerServiceFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    private static async Task<JsonObject> BadRequestAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.ProblemAsync();
    }

    [Fact]
    public async Task TyposInAJobAreNamedWithTheFieldMeantAndNothingIsQueued()
    {
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "typos.csv");

        var problem = await BadRequestAsync(await client.PostJobAsync(new
        {
            datasetId = dataset, modelName = "typos", task = new { kind = "forecast" },
            model = new { hiddenSise = 8 }, training = new { learningrate = 5, epochs = 1 },
        }));

        Assert.Equal("is not a known field. Did you mean hiddenSize?", problem.Errors("model.hiddenSise"));
        Assert.Equal("is not a known field. Did you mean learningRate?", problem.Errors("training.learningrate"));
        Assert.Contains("model.hiddenSise", problem["detail"]!.GetValue<string>());
        Assert.Empty((await client.ListAsync("/training-jobs")));
    }

    [Fact]
    public async Task AFieldLikeNoOtherListsTheKnownOnes()
    {
        var problem = await BadRequestAsync(await client.PostJobAsync(new { datasetId = "x", modelName = "m", colour = "red" }));

        var message = problem.Errors("colour");
        Assert.StartsWith("is not a known field. Known fields here: datasetId, modelName, task, model, training", message);
    }

    [Fact]
    public async Task PredictNamesAMisspeltHorizonBeforeLookingForTheModel()
    {
        var response = await client.PostAsJsonAsync("/predict", new { model = "nothing", inputs = new[] { new[] { 1.0, 2.0 } }, horizn = 3 });

        Assert.Equal("is not a known field. Did you mean horizon?", (await BadRequestAsync(response)).Errors("horizn"));
    }

    [Fact]
    public async Task TuningSearchesAreStrictInsideTheirSearch()
    {
        var problem = await BadRequestAsync(await client.PostAsJsonAsync("/tuning-jobs", new
        {
            datasetId = "x", modelName = "m", task = new { kind = "forecast" }, search = new { maxTrial = 3, strategy = "random" },
        }));

        Assert.Equal("is not a known field. Did you mean maxTrials?", problem.Errors("search.maxTrial"));
    }

    [Fact]
    public async Task AnUnknownUploadFieldIsRefusedAndNothingIsStored()
    {
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(TestData.SeasonalCsv(48))), "file", "load.csv");
        form.Add(new StringContent("load"), "nmae");
        var before = (await client.ListAsync("/datasets")).Count;

        var problem = await BadRequestAsync(await client.PostAsync("/datasets", form));

        Assert.Equal("is not a known field. Did you mean name?", problem.Errors("nmae"));
        Assert.Equal(before, (await client.ListAsync("/datasets")).Count);
    }

    [Fact]
    public async Task AnInlineDatasetIsStrictToo()
    {
        var response = await client.PostAsJsonAsync("/datasets", new { content = "a\n1\n2\n", formt = "csv" });

        Assert.Equal("is not a known field. Did you mean format?", (await BadRequestAsync(response)).Errors("formt"));
    }

    [Fact]
    public async Task AnImportNamesUnknownFormFieldsAndUnknownSpecFields()
    {
        using var misnamed = new MultipartFormDataContent();
        misnamed.Add(new StringContent("{}"), "spec");
        misnamed.Add(new ByteArrayContent([1, 2, 3]), "weight", "w.pt");
        Assert.Equal("is not a known field. Did you mean weights?",
            (await BadRequestAsync(await client.PostAsync("/models/imported/versions", misnamed))).Errors("weight"));

        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("""{"task":{"kind":"regression","targts":["y"]},"model":{"cell":"gru"}}"""), "spec");
        form.Add(new ByteArrayContent([1, 2, 3]), "weights", "w.pt");
        Assert.Equal("is not a known field. Did you mean targets?",
            (await BadRequestAsync(await client.PostAsync("/models/imported/versions", form))).Errors("spec.task.targts"));
    }

    [Fact]
    public async Task WrongCaseIsATypoToo()
    {
        // The contract is camelCase; a body in another case would have bound silently before.
        var problem = await BadRequestAsync(await client.PostAsync("/training-jobs",
            new StringContent("""{"DatasetId":"x","modelName":"m"}""", Encoding.UTF8, "application/json")));

        Assert.Equal("is not a known field. Did you mean datasetId?", problem.Errors("DatasetId"));
    }

    [Fact]
    public void OnlyRequestsAreStrictWhatIsStoredReadsWithMembersItDoesNotKnow()
    {
        // A body with a member the contract lacks stops the serializer (one pass over a valid body); JSON that the store
        // kept, written by another version with a member this one lacks, must still read.
        const string json = """{"kind":"forecast","horizon":3,"addedLater":1}""";

        Assert.Equal(3, StoredJson.Read<TaskOptions>(json).Horizon);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<TaskOptions>(json, StoredJson.RequestOptions));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<TaskOptions>("""{"Kind":"forecast"}""", StoredJson.RequestOptions));
        Assert.Equal(TaskKind.Forecast, JsonSerializer.Deserialize<TaskOptions>("""{"kind":"forecast"}""", StoredJson.RequestOptions)!.Kind);
    }

    [Fact]
    public async Task AFreshProcessReadsItsFirstBodyStrictly()
    {
        // The contract metadata strict reading walks must be there before anything was serialised: in a process of its
        // own, the very first request is a JSON body (a 500 once, when the options had no resolver yet).
        var directory = Directory.CreateTempSubdirectory("rnnservice-strict-").FullName;
        try
        {
            using var service = ServiceProcess.Start(new Dictionary<string, string> { ["Storage__DataDirectory"] = directory, ["Roles"] = "api" });
            var fresh = await service.ReadyClientAsync();

            var response = await fresh.PostAsJsonAsync("/predict", new { model = "nothing", inputs = new[] { new[] { 1.0 } }, horizn = 1 });

            Assert.Equal("is not a known field. Did you mean horizon?", (await BadRequestAsync(response)).Errors("horizn"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task TheOpenApiSchemasRefuseAdditionalProperties()
    {
        var document = (await client.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        var schemas = document["components"]!["schemas"]!.AsObject();

        foreach (var name in new[] { "TrainingJobRequest", "ModelOptions", "TrainingOptions", "TaskOptions", "PredictRequest", "TuningJobRequest" })
            Assert.True(schemas[name]?["additionalProperties"]?.GetValue<bool>() == false, $"{name}: {schemas[name]?.ToJsonString()}");
    }

    [Theory]
    [InlineData("/training-jobs?limt=10", "limt", "Did you mean limit?")]
    [InlineData("/datasets?limit=5&cursr=abc", "cursr", "Did you mean cursor?")]
    [InlineData("/prediction-jobs?state=running", "state", "It takes: limit, cursor.")]
    [InlineData("/health/ready?verbose=1", "verbose", "which takes none")]
    public async Task AQueryParameterTheEndpointDoesNotTakeIsA400NamingIt(string path, string parameter, string hint)
    {
        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await response.ProblemAsync())["errors"]![parameter]![0]!.GetValue<string>();
        Assert.Contains("is not a query parameter", message);
        Assert.Contains(hint, message);
    }

    [Theory]
    [InlineData("/datasets?limit=5")]
    [InlineData("/datasets?LIMIT=5")]
    [InlineData("/training-jobs?limit=2&tuningJobId=none")]
    public async Task TheQueryParametersAnEndpointTakesAreReadInAnyCase(string path) =>
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
}
