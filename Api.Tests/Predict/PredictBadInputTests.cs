using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Predict;

/// <summary>A service with tight predict limits and one small forecaster (one feature, horizon 2, hidden 8).</summary>
public sealed class LimitedService : IAsyncLifetime
{
    private readonly RnnServiceFactory factory = RnnServiceFactory.With(new Dictionary<string, string>
    {
        ["Inference:MaxSequencesPerRequest"] = "8",
        ["Inference:MaxStepsPerSequence"] = "50",
        ["Inference:MaxRequestBytes"] = "4096",
        ["Inference:MaxStateValues"] = "400",
    });

    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Client = factory.CreateClient();
        var series = await Client.UploadDatasetAsync(TestData.SeasonalCsv(), "load.csv");
        var job = await Client.WaitForEndAsync(await Client.CreateJobAsync(new
        {
            datasetId = series, modelName = "load", task = new { kind = "forecast", inputLength = 6, horizon = 2, calendarFeatures = "none" },
            model = new { hiddenSize = 8 }, training = new { epochs = 1 },
        }));
        Assert.Equal("succeeded", job.State());
    }

    public Task DisposeAsync()
    {
        factory.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PredictBadInputTests(LimitedService service) : IClassFixture<LimitedService>
{
    private HttpClient Client => service.Client;

    private async Task<JsonObject> ExpectAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!.AsObject();
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        return problem;
    }

    private async Task<JsonObject> PostRawAsync(string json, HttpStatusCode status = HttpStatusCode.BadRequest) =>
        await ExpectAsync(await Client.PostAsync("/predict", new StringContent(json, Encoding.UTF8, "application/json")), status);

    private async Task<JsonObject> PostAsync(object request, HttpStatusCode status = HttpStatusCode.BadRequest) =>
        await ExpectAsync(await Client.PostAsJsonAsync("/predict", request), status);

    [Fact]
    public async Task PredictWithNaNReturnsProblemNamingTheStep()
    {
        var problem = await PostRawAsync("""{"model":"load","inputs":[[1,2,3],[4,5,"NaN",6]]}""");

        Assert.Contains("NaN is not allowed", problem.Errors("inputs[1][2]"));
    }

    [Fact]
    public async Task InfinityInAFeatureListNamesTheStepAndTheFeature()
    {
        var problem = await PostRawAsync("""{"model":"load","inputs":[[[1],[2],[3],[4]],[[5],[6],[7],["-Infinity"]]]}""");

        Assert.Equal("feature 0: -Infinity is not allowed; values must be finite numbers.", problem.Errors("inputs[1][3]"));
    }

    [Fact]
    public async Task ANumberBeyondFloat32IsRefusedAtItsStep()
    {
        var problem = await PostRawAsync("""{"model":"load","inputs":[[1,1e39,3]]}""");

        Assert.Equal("1e39 does not fit a 32-bit float.", problem.Errors("inputs[0][1]"));
    }

    [Fact]
    public async Task ABareNaNIsNotJsonAndTheProblemSaysWhere()
    {
        var problem = await PostRawAsync("""{"model":"load","inputs":[[1,NaN,3]]}""");

        Assert.Contains("is not valid JSON", problem.Errors("inputs"));
        Assert.Contains("NaN and Infinity are not JSON numbers", problem.Errors("inputs"));
    }

    [Fact]
    public async Task EmptyInputsAndEmptySequencesAreRefused()
    {
        Assert.Equal("is empty; send at least one sequence.", (await PostAsync(new { model = "load", inputs = Array.Empty<double[]>() })).Errors("inputs"));
        Assert.Equal("is empty; a sequence needs at least one step.",
            (await PostAsync(new { model = "load", inputs = new[] { new[] { 1.0 }, new[] { 2.0 }, Array.Empty<double>() } })).Errors("inputs[2]"));
    }

    [Fact]
    public async Task AStepWithTheWrongFeatureCountIsNamed()
    {
        var problem = await PostAsync(new { model = "load", inputs = new[] { new[] { new[] { 1.0, 2.0 }, new[] { 3.0, 4.0 } } } });

        Assert.Equal("has 2 features; the model reads 1 (load).", problem.Errors("inputs[0][0]"));
    }

    [Fact]
    public async Task AStepWhoseWidthDiffersFromItsSequenceIsNamed()
    {
        var problem = await PostRawAsync("""{"model":"load","inputs":[[1,2],[[1],[2],[3],[4,5]]]}""");

        Assert.Equal("has 2 features, but step 0 of this sequence has 1.", problem.Errors("inputs[1][3]"));
    }

    [Fact]
    public async Task NonNumbersInsideASequenceAreNamed()
    {
        var problem = await PostRawAsync("""{"model":"load","inputs":[[1,{"a":1},true,"7"]]}""");

        Assert.Equal("must be a number, not an object.", problem.Errors("inputs[0][1]"));
        Assert.Equal("must be a number, not a boolean.", problem.Errors("inputs[0][2]"));
        Assert.Equal("must be a number, not a string.", problem.Errors("inputs[0][3]"));
    }

    [Fact]
    public async Task InputsOfTheWrongTypeAreNamed()
    {
        Assert.Contains("wrong type", (await PostRawAsync("""{"model":"load","inputs":"1,2,3"}""")).Errors("inputs"));
        Assert.Equal("must be a list of steps.", (await PostRawAsync("""{"model":"load","inputs":[[1,2],5]}""")).Errors("inputs[1]"));
        Assert.Contains("wrong type", (await PostRawAsync("""{"model":7,"inputs":[[1]]}""")).Errors("model"));
    }

    [Fact]
    public async Task TooManySequencesAreRefused()
    {
        var problem = await PostAsync(new { model = "load", inputs = Enumerable.Range(0, 9).Select(_ => new[] { 1.0 }).ToArray() });

        Assert.Equal("holds 9 sequences; at most 8 are allowed in one request.", problem.Errors("inputs"));
    }

    [Fact]
    public async Task ASequenceLongerThanTheLimitIsNamed()
    {
        var problem = await PostAsync(new { model = "load", inputs = new[] { new[] { 1.0 }, Enumerable.Repeat(1.0, 51).ToArray() } });

        Assert.Equal("has 51 steps; at most 50 are allowed.", problem.Errors("inputs[1]"));
    }

    [Fact]
    public async Task ABodyOverTheLimitIs413WithOrWithoutContentLength()
    {
        var big = "{\"model\":\"load\",\"inputs\":[[" + string.Join(",", Enumerable.Repeat("1.5", 2000)) + "]]}";
        var declared = await ExpectAsync(
            await Client.PostAsync("/predict", new StringContent(big, Encoding.UTF8, "application/json")), HttpStatusCode.RequestEntityTooLarge);
        var chunked = new UnsizedContent(Encoding.UTF8.GetBytes(big));
        chunked.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var streamed = await ExpectAsync(await Client.SendAsync(request), HttpStatusCode.RequestEntityTooLarge);

        Assert.Contains("at most 4096 bytes", declared["detail"]!.GetValue<string>());
        Assert.Contains("limit of 4096 bytes", streamed["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheModelReferenceIsChecked()
    {
        Assert.Contains("is required", (await PostAsync(new { inputs = new[] { new[] { 1.0 } } })).Errors("model"));
        Assert.Contains("the name must be", (await PostAsync(new { model = "../etc", inputs = new[] { new[] { 1.0 } } })).Errors("model"));
        Assert.Contains("whole number", (await PostAsync(new { model = "load:zero", inputs = new[] { new[] { 1.0 } } })).Errors("model"));
        var unknown = await PostAsync(new { model = "nope", inputs = new[] { new[] { 1.0 } } }, HttpStatusCode.NotFound);
        Assert.Equal("there is no model 'nope'.", unknown["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task TextsNeedATextModelAndNotInputsBesideThem()
    {
        Assert.Contains("not texts", (await PostAsync(new { model = "load", texts = new[] { "hello" } })).Errors("texts"));
        Assert.Equal("send one of inputs, texts or tokens.",
            (await PostAsync(new { model = "load", texts = new[] { "hello" }, inputs = new[] { new[] { 1.0 } } })).Errors("texts"));
        Assert.Contains("is required", (await PostAsync(new { model = "load" })).Errors("inputs"));
    }

    [Fact]
    public async Task TheHorizonMustBeWithinTheTrainedOne()
    {
        Assert.Equal("is 3, but the model was trained for at most 2 steps.",
            (await PostAsync(new { model = "load", inputs = new[] { new[] { 1.0 } }, horizon = 3 })).Errors("horizon"));
        Assert.Equal("must be at least 1, got 0.",
            (await PostAsync(new { model = "load", inputs = new[] { new[] { 1.0 } }, horizon = 0 })).Errors("horizon"));
    }

    [Fact]
    public async Task StatesOverTheLimitAreRefusedBeforeAnythingRuns()
    {
        // 8 hidden × 51 steps > 400 values
        var problem = await PostAsync(new { model = "load", returnStates = true, inputs = new[] { Enumerable.Repeat(1.0, 26).ToArray(), Enumerable.Repeat(1.0, 25).ToArray() } });

        Assert.Contains("would return 408 state values; at most 400", problem.Errors("returnStates"));
    }

    [Fact]
    public async Task ABodyThatIsNotJsonIs415()
    {
        var problem = await ExpectAsync(
            await Client.PostAsync("/predict", new StringContent("model=load", Encoding.UTF8, "application/x-www-form-urlencoded")),
            HttpStatusCode.UnsupportedMediaType);

        Assert.StartsWith("'application/x-www-form-urlencoded; charset=utf-8' is not a content type that POST /predict accepts", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task EveryBadStepIsListedInOneAnswer()
    {
        var problem = await PostRawAsync("""{"model":"load","inputs":[[1,"NaN"],[],[2,"x"]]}""");

        Assert.Equal(3, problem["errors"]!.AsObject().Count);
        Assert.Contains("inputs[0][1]", problem["errors"]!.AsObject().Select(p => p.Key));
        Assert.Contains("inputs[1]", problem["errors"]!.AsObject().Select(p => p.Key));
        Assert.Contains("inputs[2][1]", problem["errors"]!.AsObject().Select(p => p.Key));
    }
}

/// <summary>A body sent without Content-Length (chunked), as a streaming client sends it.</summary>
internal sealed class UnsizedContent(byte[] bytes) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(bytes).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
