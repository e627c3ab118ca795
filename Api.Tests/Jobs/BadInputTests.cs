using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Jobs;

/// <summary>
/// Each bad input gets a 4xx ProblemDetails naming the field, line or row, and leaves what is stored as it was:
/// the same datasets, jobs and models, and the same files in the data directory.
/// </summary>
public sealed class BadInputTests(NoWorkerServiceFactory factory) : IClassFixture<NoWorkerServiceFactory>, IAsyncLifetime
{
    private readonly HttpClient client = factory.CreateClient();
    private string dataset = "";
    private string before = "";

    public async Task InitializeAsync()
    {
        dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "good.csv");
        before = await StoredAsync();
    }

    public async Task DisposeAsync() => Assert.Equal(before, await StoredAsync());

    /// <summary>Everything stored, as text: the three listings and the data directory's files with their sizes.</summary>
    private async Task<string> StoredAsync()
    {
        var listings = await Task.WhenAll(
            client.GetStringAsync("/datasets"), client.GetStringAsync("/training-jobs"), client.GetStringAsync("/models"));
        var files = Directory.GetFiles(factory.DataDirectory, "*", SearchOption.AllDirectories)
            .Where(path => !path.Contains("rnnservice.db")).Order()
            .Select(path => $"{Path.GetRelativePath(factory.DataDirectory, path)}:{new FileInfo(path).Length}");
        return string.Join("\n", listings.Concat(files));
    }

    private async Task<JsonObject> ExpectProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.ProblemAsync();
    }

    private object Job(object? task = null, object? training = null, string? datasetId = null) => new
    {
        datasetId = datasetId ?? dataset, modelName = "m",
        task = task ?? new { kind = "forecast" },
        training = training ?? new { },
    };

    [Fact]
    public async Task AnEmptyFileIsRefusedNamingTheFile()
    {
        var problem = await ExpectProblemAsync(await client.UploadAsync("", "empty.csv"), HttpStatusCode.BadRequest);

        Assert.Equal("is empty.", problem.Errors("file"));
    }

    [Fact]
    public async Task AHeaderWithoutRowsIsRefused()
    {
        var problem = await ExpectProblemAsync(await client.UploadAsync("month,load\n", "header.csv"), HttpStatusCode.BadRequest);

        Assert.Equal("the file has a header but no data rows.", problem.Errors("file"));
    }

    [Fact]
    public async Task ACsvWithANonNumericCellIsRefusedNamingRowAndColumn()
    {
        var csv = "month,load\n2024-01,1\n2024-02,2\n2024-03,lots\n";

        var problem = await ExpectProblemAsync(await client.UploadAsync(csv, "load.csv"), HttpStatusCode.BadRequest);

        Assert.Equal("row 3, column \"load\": not a number ('lots').", problem.Errors("file"));
        Assert.Equal("row 3, column \"load\": not a number ('lots').", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task RaggedJsonLinesAreRefusedNamingTheLineAndStep()
    {
        var jsonl = "{\"sequence\": [[1, 2], [3, 4]], \"label\": 1}\n{\"sequence\": [[1, 2], [3]], \"label\": 0}\n";

        var problem = await ExpectProblemAsync(await client.UploadAsync(jsonl, "ragged.jsonl"), HttpStatusCode.BadRequest);

        Assert.Equal("line 2: step 1 has 1 features, but the file's steps have 2.", problem.Errors("file"));
    }

    [Fact]
    public async Task AMissingLabelAndBrokenJsonAreReportedLineByLine()
    {
        var jsonl = "{\"sequence\": [1, 2], \"label\": 1}\n{\"sequence\": [1]}\n{\"sequence\": [1], \"label\": 0\n";

        var problem = await ExpectProblemAsync(await client.UploadAsync(jsonl, "labels.jsonl"), HttpStatusCode.BadRequest);

        var errors = problem.Errors("file");
        Assert.StartsWith("line 2: label missing. | line 3: not valid JSON", errors);
    }

    [Fact]
    public async Task AFileOverTheUploadLimitIs413()
    {
        var big = "month,load\n" + string.Concat(Enumerable.Repeat("2024-01-01,1.000000\n", 300));

        var problem = await ExpectProblemAsync(await client.UploadAsync(big, "big.csv"), HttpStatusCode.RequestEntityTooLarge);

        Assert.Contains("at most 4096 bytes", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnUploadWithoutAFileOrWithAnUnknownFormatNamesTheField()
    {
        using var noFile = new MultipartFormDataContent { { new StringContent("x"), "name" } };
        var missing = await ExpectProblemAsync(await client.PostAsync("/datasets", noFile), HttpStatusCode.BadRequest);
        var unknown = await ExpectProblemAsync(await client.UploadAsync("a,b\n1,2\n", "data.csv", format: "xlsx"), HttpStatusCode.BadRequest);
        var uninferable = await ExpectProblemAsync(await client.UploadAsync("a,b\n1,2\n", "data.bin"), HttpStatusCode.BadRequest);
        var notForm = await ExpectProblemAsync(
            await client.PostAsync("/datasets", new StringContent("a,b\n1,2\n", Encoding.UTF8, "text/csv")), HttpStatusCode.UnsupportedMediaType);

        Assert.StartsWith("is required", missing.Errors("file"));
        Assert.Equal("'xlsx' is not csv or jsonl.", unknown.Errors("format"));
        Assert.StartsWith("cannot be inferred from the file name 'data.bin'", uninferable.Errors("format"));
        Assert.Equal(415, notForm["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task ADatasetNameOver200CharactersIsNamedInFormsAndJson()
    {
        var name = new string('n', 201);
        var form = await ExpectProblemAsync(await client.UploadAsync(TestData.SeasonalCsv(24), "long.csv", name: name), HttpStatusCode.BadRequest);
        var json = await ExpectProblemAsync(
            await client.PostAsJsonAsync("/datasets", new { name, format = "csv", content = TestData.SeasonalCsv(24) }), HttpStatusCode.BadRequest);

        Assert.Equal("must be at most 200 characters.", form.Errors("name"));
        Assert.Equal("must be at most 200 characters.", json.Errors("name"));
    }

    /// <summary>NUL would reach the database as text (PostgreSQL refuses it): a 400 naming the field, on both stores.</summary>
    [Fact]
    public async Task ControlCharactersInADatasetNameOrAJobsDatasetIdAreNamed()
    {
        var form = await ExpectProblemAsync(await client.UploadAsync(TestData.SeasonalCsv(24), "nul.csv", name: "a\0b"), HttpStatusCode.BadRequest);
        var json = await ExpectProblemAsync(
            await client.PostAsJsonAsync("/datasets", new { name = "line\nbreak", format = "csv", content = TestData.SeasonalCsv(24) }),
            HttpStatusCode.BadRequest);
        var job = await ExpectProblemAsync(await client.PostJobAsync(Job(datasetId: "ds_\0")), HttpStatusCode.BadRequest);

        Assert.Equal("must not contain control characters.", form.Errors("name"));
        Assert.Equal("must not contain control characters.", json.Errors("name"));
        Assert.Equal("must not contain control characters.", job.Errors("datasetId"));
    }

    [Fact]
    public async Task AnUnknownDatasetIs404AndAJobNamingOneIs400()
    {
        var get = await ExpectProblemAsync(await client.GetAsync("/datasets/ds_nope"), HttpStatusCode.NotFound);
        var delete = await ExpectProblemAsync(await client.DeleteAsync("/datasets/ds_nope"), HttpStatusCode.NotFound);
        var job = await ExpectProblemAsync(await client.PostJobAsync(Job(datasetId: "ds_nope")), HttpStatusCode.BadRequest);

        Assert.Equal("there is no dataset 'ds_nope'.", get["detail"]!.GetValue<string>());
        Assert.Equal("there is no dataset 'ds_nope'.", delete["detail"]!.GetValue<string>());
        Assert.Equal("there is no dataset with the id or name 'ds_nope'.", job.Errors("datasetId"));
    }

    [Fact]
    public async Task ATargetNotInTheDatasetIsNamedWithItsIndex()
    {
        var problem = await ExpectProblemAsync(
            await client.PostJobAsync(Job(new { kind = "forecast", targets = new[] { "load", "sales" } })), HttpStatusCode.BadRequest);

        Assert.Equal("column 'sales' is not a numeric column of the dataset (it has: load).", problem.Errors("task.targets[1]"));
    }

    [Fact]
    public async Task AHorizonLongerThanTheDataIsRefused()
    {
        var tooLong = await ExpectProblemAsync(
            await client.PostJobAsync(Job(new { kind = "forecast", horizon = 48 })), HttpStatusCode.BadRequest);
        var noRoom = await ExpectProblemAsync(
            await client.PostJobAsync(Job(new { kind = "forecast", horizon = 20, inputLength = 40 })), HttpStatusCode.BadRequest);

        Assert.Equal("48 steps do not fit the shortest series (48 steps) with any input.", tooLong.Errors("task.horizon"));
        Assert.Equal("inputLength + horizon = 60 is longer than the shortest series (48 steps).", noRoom.Errors("task.inputLength"));
    }

    [Fact]
    public async Task ZeroEpochsAndANegativeLearningRateAreNamed()
    {
        var problem = await ExpectProblemAsync(
            await client.PostJobAsync(Job(training: new { epochs = 0, learningRate = -0.1 })), HttpStatusCode.BadRequest);

        Assert.Equal("must be between 1 and 100000, got 0.", problem.Errors("training.epochs"));
        Assert.Equal("must be above 0 and at most 10, got -0.1.", problem.Errors("training.learningRate"));
    }

    [Fact]
    public async Task ATaskThatDoesNotFitTheDatasetKindIsNamed()
    {
        var classification = await ExpectProblemAsync(
            await client.PostJobAsync(Job(new { kind = "classification" })), HttpStatusCode.BadRequest);
        var missingKind = await ExpectProblemAsync(await client.PostJobAsync(Job(new { })), HttpStatusCode.BadRequest);

        Assert.StartsWith("classification needs a sequences or texts", classification.Errors("task.kind"));
        Assert.StartsWith("is required", missingKind.Errors("task.kind"));
    }

    [Fact]
    public async Task AnUnknownEnumValueOrWrongTypeInTheBodyNamesItsPath()
    {
        var badKind = await ExpectProblemAsync(await client.PostAsync("/training-jobs",
            new StringContent($"{{\"datasetId\":\"{dataset}\",\"modelName\":\"m\",\"task\":{{\"kind\":\"dance\"}}}}", Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest);
        var badType = await ExpectProblemAsync(await client.PostAsync("/training-jobs",
            new StringContent($"{{\"datasetId\":\"{dataset}\",\"modelName\":\"m\",\"training\":{{\"epochs\":\"many\"}}}}", Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest);

        Assert.NotNull(badKind["errors"]!["task.kind"]);
        Assert.NotNull(badType["errors"]!["training.epochs"]);
    }

    [Fact]
    public async Task AModelNameThatCouldEscapeAFolderIsRefused()
    {
        var problem = await ExpectProblemAsync(
            await client.PostJobAsync(new { datasetId = dataset, modelName = "../etc", task = new { kind = "forecast" } }), HttpStatusCode.BadRequest);

        Assert.Contains("letters, digits", problem.Errors("modelName"));
    }

    [Fact]
    public async Task UnknownJobsAndModelsAre404()
    {
        await ExpectProblemAsync(await client.GetAsync("/training-jobs/job_nope"), HttpStatusCode.NotFound);
        await ExpectProblemAsync(await client.PostAsync("/training-jobs/job_nope/cancel", null), HttpStatusCode.NotFound);
        await ExpectProblemAsync(await client.GetAsync("/training-jobs/job_nope/events"), HttpStatusCode.NotFound);
        await ExpectProblemAsync(await client.GetAsync("/models/nope"), HttpStatusCode.NotFound);
        await ExpectProblemAsync(await client.GetAsync("/models/nope/versions/1"), HttpStatusCode.NotFound);
        await ExpectProblemAsync(await client.DeleteAsync("/models/nope/versions/1"), HttpStatusCode.NotFound);
    }
}
