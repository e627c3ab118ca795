using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Data;

public sealed class DatasetApiTests(NoWorkerServiceFactory factory) : IClassFixture<NoWorkerServiceFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task ATimeSeriesCsvIsSummarisedWithItsColumnsSeriesAndLengths()
    {
        const string csv = "timestamp,series,load,temperature\n" +
                           "2024-01-02,b,5,1.5\n2024-01-01,a,1,0.5\n2024-01-01,b,4,1\n2024-01-02,a,2,0.25\n2024-01-03,a,3,0\n";

        var response = await client.UploadAsync(csv, "plant.csv");
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/datasets/{body["id"]}", response.Headers.Location!.OriginalString);
        Assert.Equal("plant", body["name"]!.GetValue<string>());
        Assert.Equal("csv", body["format"]!.GetValue<string>());
        Assert.Equal("timeSeries", body["kind"]!.GetValue<string>());
        Assert.Equal(5, body["rows"]!.GetValue<int>());
        Assert.Equal(["load", "temperature"], body["columns"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal("timestamp", body["timeColumn"]!.GetValue<string>());
        Assert.Equal("day", body["frequency"]!.GetValue<string>());
        Assert.Equal(1, body["season"]!.GetValue<int>());
        Assert.Equal("series", body["seriesColumn"]!.GetValue<string>());
        Assert.Equal(2, body["series"]!.GetValue<int>());
        Assert.Equal(2, body["minLength"]!.GetValue<int>());
        Assert.Equal(3, body["maxLength"]!.GetValue<int>());
        var fetched = await client.GetFromJsonAsync<JsonObject>($"/datasets/{body["id"]}");
        Assert.Equal(body.ToJsonString(), fetched!.ToJsonString());
    }

    [Fact]
    public async Task SequencesOfVaryingLengthAreSummarisedWithFeatureCountAndClasses()
    {
        const string jsonl = "{\"sequence\": [[1, 2], [3, 4], [5, 6]], \"label\": 1}\n\n{\"sequence\": [[0, 1]], \"label\": 0}\n{\"sequence\": [[1,1],[2,2]], \"label\": 1}\n";

        var response = await client.UploadAsync(jsonl, "events.jsonl");
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("sequences", body["kind"]!.GetValue<string>());
        Assert.Equal(3, body["rows"]!.GetValue<int>());
        Assert.Equal(2, body["featureCount"]!.GetValue<int>());
        Assert.Equal(1, body["minLength"]!.GetValue<int>());
        Assert.Equal(3, body["maxLength"]!.GetValue<int>());
        Assert.Equal("class", body["labels"]!["kind"]!.GetValue<string>());
        Assert.Equal(2, body["labels"]!["classes"]!["1"]!.GetValue<int>());
        Assert.Equal(1, body["labels"]!["classes"]!["0"]!.GetValue<int>());
    }

    [Fact]
    public async Task BareNumberStepsAndNumericLabelsMakeARegressionDataset()
    {
        const string jsonl = "{\"sequence\": [1, 2, 3], \"label\": 0.5}\n{\"sequence\": [4], \"label\": 2}\n";

        var body = (await (await client.UploadAsync(jsonl, "values.ndjson")).Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(1, body["featureCount"]!.GetValue<int>());
        Assert.Equal("number", body["labels"]!["kind"]!.GetValue<string>());
        Assert.Equal(1, body["labels"]!["width"]!.GetValue<int>());
    }

    [Fact]
    public async Task TextsAreSummarisedWithTheirLengthsInTokens()
    {
        const string jsonl = "{\"text\": \"Great film, really!\", \"label\": 1}\n{\"text\": \"Awful.\", \"label\": 0}\n";

        var body = (await (await client.UploadAsync(jsonl, "reviews.txt", format: "jsonl", name: "reviews")).Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal("texts", body["kind"]!.GetValue<string>());
        Assert.Equal("reviews", body["name"]!.GetValue<string>());
        Assert.Equal(2, body["minLength"]!.GetValue<int>());  // "awful" "."
        Assert.Equal(5, body["maxLength"]!.GetValue<int>());  // "great" "film" "," "really" "!"
    }

    [Fact]
    public async Task ADatasetMayBeSentInlineAsJsonWithItsFormatInferred()
    {
        var response = await client.PostAsJsonAsync("/datasets", new { name = "inline", content = "{\"text\": \"fine film\", \"label\": 1}\n{\"text\": \"bad\", \"label\": 0}\n" });
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("inline", body["name"]!.GetValue<string>());
        Assert.Equal("jsonl", body["format"]!.GetValue<string>());
        Assert.Equal("texts", body["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnInlineDatasetsProblemsNameTheContent()
    {
        var empty = await client.PostAsJsonAsync("/datasets", new { name = "x" });
        var broken = await client.PostAsJsonAsync("/datasets", new { format = "csv", content = "a,b\n1,lots\n" });
        var format = await client.PostAsJsonAsync("/datasets", new { format = "xml", content = "a\n1\n" });

        Assert.Contains("is required", (await empty.ProblemAsync()).Errors("content"));
        Assert.Contains("not a number ('lots')", (await broken.ProblemAsync()).Errors("content"));
        Assert.Equal("'xml' is not csv or jsonl.", (await format.ProblemAsync()).Errors("format"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge,
            (await client.PostAsJsonAsync("/datasets", new { content = new string('1', 5000) })).StatusCode);
    }

    [Fact]
    public async Task AJobMayNameItsDatasetByNameAndGetsTheNewestOfThatName()
    {
        await client.UploadDatasetAsync(TestData.SeasonalCsv(), "named.csv");
        var newest = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "named.csv");

        var job = await client.GetJobAsync(await client.CreateJobAsync(new { datasetId = "named", modelName = "m", task = new { kind = "forecast" } }));

        Assert.Equal(newest, job["request"]!["datasetId"]!.GetValue<string>());
    }

    [Fact]
    public async Task ADeletedDatasetIsGoneWithItsFile()
    {
        var id = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "gone.csv");
        // The file and its preview.
        Assert.Equal([id + ".csv", id + ".preview.json"],
            Directory.GetFiles(Path.Combine(factory.DataDirectory, "datasets"), id + ".*").Select(Path.GetFileName).Order());

        var deleted = await client.DeleteAsync($"/datasets/{id}");
        var fetched = await client.GetAsync($"/datasets/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, fetched.StatusCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(factory.DataDirectory, "datasets"), id + ".*"));
        Assert.DoesNotContain((await client.ListAsync("/datasets")), d => d!["id"]!.GetValue<string>() == id);
    }

    [Fact]
    public async Task ADatasetThatAQueuedJobUsesCannotBeDeleted()
    {
        var id = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "busy.csv");
        var job = await client.CreateJobAsync(new { datasetId = id, modelName = "busy", task = new { kind = "forecast" } });

        var response = await client.DeleteAsync($"/datasets/{id}");
        var problem = await response.ProblemAsync();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains(job, problem["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/datasets/{id}")).StatusCode);
    }
}
