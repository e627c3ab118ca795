using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace RnnService.Api.Tests.Infrastructure;

/// <summary>What the tests do over HTTP, in the words of the API.</summary>
public static class ServiceClient
{
    public static async Task<HttpResponseMessage> UploadAsync(this HttpClient client, string content, string fileName, string? format = null, string? name = null)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(content)), "file", fileName);
        if (format is not null) form.Add(new StringContent(format), "format");
        if (name is not null) form.Add(new StringContent(name), "name");
        return await client.PostAsync("/datasets", form);
    }

    /// <summary>Uploads a dataset that must be accepted and returns its id.</summary>
    public static async Task<string> UploadDatasetAsync(this HttpClient client, string content, string fileName)
    {
        var response = await client.UploadAsync(content, fileName);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    public static Task<HttpResponseMessage> PostJobAsync(this HttpClient client, object request) =>
        client.PostAsJsonAsync("/training-jobs", request);

    /// <summary>Queues a job that must be accepted and returns its id.</summary>
    public static async Task<string> CreateJobAsync(this HttpClient client, object request)
    {
        var response = await client.PostJobAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    /// <summary>A training job, or a prediction job (its id starts with <c>pred_</c>).</summary>
    public static async Task<JsonObject> GetJobAsync(this HttpClient client, string id) =>
        (await client.GetFromJsonAsync<JsonObject>(id.StartsWith("pred_", StringComparison.Ordinal) ? $"/prediction-jobs/{id}" : $"/training-jobs/{id}"))!;

    /// <summary>Polls a job until <paramref name="done"/> holds, failing the test after a generous time.</summary>
    public static async Task<JsonObject> WaitForJobAsync(this HttpClient client, string id, Func<JsonObject, bool> done, int timeoutSeconds = 120)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var job = await client.GetJobAsync(id);
            if (done(job)) return job;
            if (DateTime.UtcNow > deadline) Assert.Fail($"job {id} did not get there in {timeoutSeconds} s: {job.ToJsonString()}");
            await Task.Delay(100);
        }
    }

    public static Task<JsonObject> WaitForEndAsync(this HttpClient client, string id, int timeoutSeconds = 120) =>
        client.WaitForJobAsync(id, job => job["state"]!.GetValue<string>() is "succeeded" or "failed" or "cancelled", timeoutSeconds);

    public static string State(this JsonObject job) => job["state"]!.GetValue<string>();

    /// <summary>Queues a tuning job that must be accepted and returns its id.</summary>
    public static async Task<string> CreateTuningAsync(this HttpClient client, object request)
    {
        var response = await client.PostAsJsonAsync("/tuning-jobs", request);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        Assert.StartsWith("/tuning-jobs/tune_", response.Headers.Location!.ToString());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    /// <summary>Polls a tuning job until <paramref name="done"/> holds (by default, until it ends), failing the test after a generous time.</summary>
    public static async Task<JsonObject> WaitForTuningAsync(
        this HttpClient client, string id, Func<JsonObject, bool>? done = null, int timeoutSeconds = 240)
    {
        done ??= tuning => tuning.State() is "succeeded" or "failed" or "cancelled";
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var tuning = (await client.GetFromJsonAsync<JsonObject>($"/tuning-jobs/{id}"))!;
            if (done(tuning)) return tuning;
            if (DateTime.UtcNow > deadline) Assert.Fail($"tuning job {id} did not get there in {timeoutSeconds} s: {tuning.ToJsonString()}");
            await Task.Delay(100);
        }
    }

    /// <summary>Reads a server-sent event stream to its end: each event's name and data, and the response's media type.</summary>
    public static async Task<(string? MediaType, List<(string Name, JsonObject Data)> Events)> ReadEventsAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        var events = new List<(string Name, JsonObject Data)>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? name = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ")) name = line["event: ".Length..];
            else if (line.StartsWith("data: ")) events.Add((name!, JsonNode.Parse(line["data: ".Length..])!.AsObject()));
        }
        return (response.Content.Headers.ContentType?.MediaType, events);
    }

    /// <summary>The items of a list's first page (every list answers <c>{ items, next }</c>).</summary>
    public static async Task<JsonArray> ListAsync(this HttpClient client, string path) =>
        (await client.GetFromJsonAsync<JsonObject>(path))!["items"]!.AsArray();

    public static async Task<JsonObject> ProblemAsync(this HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>The messages a validation problem lists for <paramref name="field"/>, joined.</summary>
    public static string Errors(this JsonObject problem, string field)
    {
        var errors = problem["errors"]?[field];
        Assert.True(errors is not null, $"no errors for '{field}' in {problem.ToJsonString()}");
        return string.Join(" | ", errors!.AsArray().Select(e => e!.GetValue<string>()));
    }
}

/// <summary>Small datasets made up for the tests, with a pattern a tiny model learns in a few epochs.</summary>
public static class TestData
{
    /// <summary>A monthly series with trend and a yearly season.</summary>
    public static string SeasonalCsv(int months = 96)
    {
        var text = new StringBuilder("month,load\n");
        for (var i = 0; i < months; i++)
            text.Append($"{1990 + i / 12}-{i % 12 + 1:00},{(100 + i + 20 * Math.Sin(i * Math.PI / 6)).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}\n");
        return text.ToString();
    }

    /// <summary>
    /// A monthly series with a yearly season whose load rises by 40 in the months of a promotion (a quarter of them, at
    /// seeded random): a column whose future is known.
    /// </summary>
    public static string PromotionsCsv(int months = 96, int seed = 4)
    {
        var random = new Random(seed);
        var text = new StringBuilder("month,load,promo\n");
        for (var i = 0; i < months; i++)
        {
            var promo = random.NextDouble() < 0.25 ? 1 : 0;
            var load = 100 + 0.5 * i + 20 * Math.Sin(i * Math.PI / 6) + 40 * promo;
            text.Append($"{1990 + i / 12}-{i % 12 + 1:00},{load.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)},{promo}\n");
        }
        return text.ToString();
    }

    /// <summary>Sequences of 3 to 12 steps of two features; the label is 1 when the first feature sums above zero.</summary>
    public static string SignSequencesJsonl(int count = 200, int seed = 1)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var n = 0; n < count; n++)
        {
            var length = random.Next(3, 13);
            var steps = Enumerable.Range(0, length).Select(_ => new[] { Math.Round(random.NextDouble() * 2 - 1, 3), Math.Round(random.NextDouble(), 3) }).ToArray();
            var label = steps.Sum(step => step[0]) > 0 ? 1 : 0;
            text.Append(System.Text.Json.JsonSerializer.Serialize(new { sequence = steps, label })).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Short texts: label 1 when they are about good things.</summary>
    public static string SentimentJsonl(int count = 120, int seed = 2)
    {
        string[] good = ["great", "lovely", "excellent", "fine"], bad = ["awful", "terrible", "poor", "bad"], filler = ["the", "film", "was", "really", "plot", "acting"];
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var n = 0; n < count; n++)
        {
            var label = n % 2;
            var words = Enumerable.Range(0, random.Next(2, 6)).Select(_ => filler[random.Next(filler.Length)]).ToList();
            words.Insert(random.Next(words.Count + 1), (label == 1 ? good : bad)[random.Next(4)]);
            text.Append(System.Text.Json.JsonSerializer.Serialize(new { text = string.Join(' ', words) + "!", label })).Append('\n');
        }
        return text.ToString();
    }
}
