using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RnnService.Bench.Reliability;

/// <summary>
/// Memory of real jobs against their estimates: the published service on the embedded default trains jobs of several
/// shapes one after another. Before each, the process's peak-RSS counter is reset (<c>/proc/PID/clear_refs</c>); when the
/// job has ended, its peak (<c>VmHWM</c>) less the RSS before it is compared with the estimate the service answered
/// with, and the RSS after it with the RSS before it. Passes when every estimate is within ±25% of the measured peak
/// and every job gives its memory back (RSS after within 10% or 100 MiB of before).
/// </summary>
public static class Memory
{
    private sealed record Shape(string Name, string Description, string Dataset, string FileName, object Request);

    private sealed record Measured(
        string Shape, string Description, string State, string? StoppedBy, long Parameters, double EstimateMiB, double PeakMiB,
        double Ratio, double RssBeforeMiB, double RssAfterMiB, double Seconds, JsonNode? Estimate);

    public static async Task<int> RunAsync(string apiDll, string work, string jsonPath, string? only)
    {
        var environment = new Dictionary<string, string>
        {
            ["Storage__DataDirectory"] = Path.Combine(work, "data"),
            ["Worker__PollSeconds"] = "0.2",
            ["RateLimits__PermitsPerSecond"] = "0",
        };
        using var service = ServiceUnderTest.Start(apiDll, environment, Path.Combine(work, "memory-service.log"));
        using var client = new HttpClient { BaseAddress = service.Address, Timeout = TimeSpan.FromMinutes(5) };
        await service.WaitReadyAsync(TimeSpan.FromSeconds(120));

        var results = new List<Measured>();
        var failures = new List<string>();
        foreach (var shape in Shapes().Where(shape => only is null || shape.Name == only))
        {
            var dataset = await Api.UploadAsync(client, shape.Dataset, shape.FileName);
            var request = JsonSerializer.SerializeToNode(shape.Request)!.AsObject();
            request["datasetId"] = dataset;
            request["modelName"] = shape.Name;
            // Quiet before the job: what the last one left is handed back, and the counter starts from here.
            await Task.Delay(1000);
            var before = service.RssBytes();
            service.ResetPeak();
            var clock = Stopwatch.StartNew();
            using var response = await client.PostAsJsonAsync("/training-jobs", request);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
            if (!response.IsSuccessStatusCode)
            {
                failures.Add($"{shape.Name}: {(int)response.StatusCode} {body["errors"]?.ToJsonString() ?? body.ToJsonString()}");
                continue;
            }
            var id = body["id"]!.GetValue<string>();
            var job = await WaitAsync(client, id);
            var seconds = clock.Elapsed.TotalSeconds;
            // The worker hands the job's memory back just after it records the final state.
            await Task.Delay(3000);
            var peak = service.PeakBytes() - before;
            var after = service.RssBytes();
            var estimate = job["estimate"]!;
            var estimated = estimate["peakBytes"]!.GetValue<long>();
            var measured = new Measured(
                shape.Name, shape.Description, job["state"]!.GetValue<string>(), job["stoppedBy"]?.GetValue<string>(),
                estimate["parameterCount"]!.GetValue<long>(), MiB(estimated), MiB(peak), Math.Round((double)estimated / peak, 3),
                MiB(before), MiB(after), Math.Round(seconds, 1), estimate);
            results.Add(measured);
            Console.WriteLine(
                $"{shape.Name,-22} {measured.State,-9} estimate {measured.EstimateMiB,8:F0} MiB  peak {measured.PeakMiB,8:F0} MiB  " +
                $"estimate/peak {measured.Ratio,5:F2}  RSS {measured.RssBeforeMiB:F0} -> {measured.RssAfterMiB:F0} MiB  ({measured.Seconds:F0} s)");
            if (measured.Ratio is < 0.75 or > 1.25) failures.Add($"{shape.Name}: the estimate is {measured.Ratio:F2} × the measured peak");
            if (after - before > Math.Max(0.1 * before, 100 << 20))
                failures.Add($"{shape.Name}: RSS {MiB(before):F0} MiB before the job, {MiB(after):F0} MiB after it");
        }

        Report.Write(jsonPath, new { machine = Environment.ProcessorCount + " cores", results, failures });
        Console.WriteLine(failures.Count == 0 ? $"PASSED: {results.Count} jobs" : "FAILED:\n  " + string.Join("\n  ", failures));
        return failures.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// Shapes whose memory goes mostly to different parts: a wide batch's activations, a bidirectional stack, the model
    /// itself, long windows of data, a text model; and the largest job the default budget (8 GiB) admits.
    /// </summary>
    private static IEnumerable<Shape> Shapes()
    {
        yield return new Shape("wide-batch", "LSTM 1×64, batch 2048 of 400 steps (activations)", Api.SeasonalCsv(6000, 1), "wide.csv", new
        {
            task = new { kind = "forecast", inputLength = 400, horizon = 1 },
            model = new { cell = "lstm", hiddenSize = 64 },
            training = new { epochs = 1, batchSize = 2048, validationFraction = 0.1 },
        });
        yield return new Shape("bidirectional-gru", "GRU 2×128 bidirectional, batch 256 of 300 steps", Api.SeasonalCsv(3000, 2), "bi.csv", new
        {
            task = new { kind = "forecast", inputLength = 300, horizon = 4 },
            model = new { cell = "gru", hiddenSize = 128, numLayers = 2, bidirectional = true },
            training = new { epochs = 1, batchSize = 256 },
        });
        yield return new Shape("large-model", "LSTM 2×1536, 28 million parameters, batch 16 (the model)", Api.SeasonalCsv(300, 3), "model.csv", new
        {
            task = new { kind = "forecast", inputLength = 24, horizon = 1 },
            model = new { cell = "lstm", hiddenSize = 1536, numLayers = 2 },
            training = new { epochs = 1, batchSize = 16 },
        });
        yield return new Shape("long-windows", "RNN 1×16, 60,000 windows of 2,000 steps (data)", Api.SeasonalCsv(62_000, 4), "long.csv", new
        {
            task = new { kind = "forecast", inputLength = 2000, horizon = 1 },
            model = new { cell = "rnn", hiddenSize = 16 },
            training = new { epochs = 1, batchSize = 64, maxDuration = "PT20S" },
        });
        yield return new Shape("texts", "biLSTM 128 over 20,000 words of 128 dimensions, 4,000 texts of 200 words", Texts(4000, 200, 5),
            "texts.jsonl", new
            {
                task = new { kind = "classification" },
                model = new { cell = "lstm", hiddenSize = 128, bidirectional = true, embeddingDim = 128 },
                training = new { epochs = 1, batchSize = 512 },
            });
        yield return new Shape("largest-admitted", "LSTM 1×64, batch 4096 of 400 steps: near the default 8 GiB", Api.SeasonalCsv(9000, 6),
            "largest.csv", new
            {
                task = new { kind = "forecast", inputLength = 400, horizon = 1 },
                model = new { cell = "lstm", hiddenSize = 64 },
                training = new { epochs = 1, batchSize = 4096, validationFraction = 0.1 },
            });
    }

    /// <summary>Labelled texts of Zipf-distributed words from a vocabulary of 30,000, in JSON lines.</summary>
    private static string Texts(int count, int words, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        var line = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            line.Clear();
            for (var w = 0; w < words; w++)
            {
                var rank = (int)Math.Min(29_999, Math.Floor(Math.Exp(random.NextDouble() * Math.Log(30_000))));
                line.Append(w == 0 ? "" : " ").Append('w').Append(rank.ToString(CultureInfo.InvariantCulture));
            }
            text.Append(JsonSerializer.Serialize(new { text = line.ToString(), label = i % 2 })).Append('\n');
        }
        return text.ToString();
    }

    private static double MiB(long bytes) => Math.Round(bytes / 1048576.0, 1);

    private static async Task<JsonObject> WaitAsync(HttpClient client, string id)
    {
        while (true)
        {
            var job = await Api.GetAsync(client, $"/training-jobs/{id}");
            if (Api.IsFinal(job["state"]!.GetValue<string>())) return job;
            await Task.Delay(200);
        }
    }
}
