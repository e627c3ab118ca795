using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace RnnService.Bench.Reliability;

/// <summary>The few calls of the public API the scripts make, and generated data to upload.</summary>
public static class Api
{
    public static async Task<string> UploadAsync(HttpClient client, string csv, string fileName)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "file", fileName);
        using var response = await client.PostAsync("/datasets", form);
        return (await Success(response))["id"]!.GetValue<string>();
    }

    public static async Task<string> CreateJobAsync(HttpClient client, object request)
    {
        using var response = await client.PostAsJsonAsync("/training-jobs", request);
        return (await Success(response))["id"]!.GetValue<string>();
    }

    public static async Task<JsonObject> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return await Success(response);
    }

    public static bool IsFinal(string state) => state is "succeeded" or "failed" or "cancelled";

    /// <summary>A seasonal series with trend and noise: one column, <paramref name="points"/> rows.</summary>
    public static string SeasonalCsv(int points, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("value\n");
        for (var t = 0; t < points; t++)
        {
            var value = 10 + 0.01 * t + 3 * Math.Sin(2 * Math.PI * t / 24) + random.NextDouble();
            text.Append(value.ToString("F4", CultureInfo.InvariantCulture)).Append('\n');
        }
        return text.ToString();
    }

    private static async Task<JsonObject> Success(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }
}
