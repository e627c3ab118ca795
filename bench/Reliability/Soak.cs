using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace RnnService.Bench.Reliability;

/// <summary>
/// Mixed load on loopback for a fixed time, with API keys on and a long training job running: predicts from a closed
/// loop of clients, dataset uploads (some malformed) and deletes, small jobs submitted and some cancelled, and listings.
/// Passes when no request got a 5xx or failed in transport, resident memory at the end is within 10% of what it was
/// after warm-up, and every accepted job reached a final state.
/// </summary>
public static class Soak
{
    public static async Task<int> RunAsync(string apiDll, string work, int seconds, int warmupSeconds, int concurrency, int seed, string jsonPath)
    {
        var keys = new Dictionary<string, string>
        {
            ["load"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            ["trainer"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            ["operator"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
        };
        var environment = new Dictionary<string, string>
        {
            ["Storage__DataDirectory"] = Path.Combine(work, "data"),
            ["Worker__Concurrency"] = "2",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var i = 0;
        foreach (var (name, scope, rate) in new[] { ("load", "predict", "100000"), ("trainer", "train", "1000"), ("operator", "admin", "1000") })
        {
            environment[$"Auth__Keys__{i}__Name"] = name;
            environment[$"Auth__Keys__{i}__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(keys[name])));
            environment[$"Auth__Keys__{i}__Scopes__0"] = scope;
            environment[$"Auth__Keys__{i}__PermitsPerSecond"] = rate;
            i++;
        }
        using var service = ServiceUnderTest.Start(apiDll, environment, Path.Combine(work, "soak-service.log"));
        await service.WaitReadyAsync(TimeSpan.FromSeconds(120));
        HttpClient Client(string key) => new(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency + 4 })
        {
            BaseAddress = service.Address, Timeout = TimeSpan.FromSeconds(60), DefaultRequestHeaders = { { "X-Api-Key", keys[key] } },
        };
        using var predictor = Client("load");
        using var trainer = Client("trainer");
        using var admin = Client("operator");

        // The model the predicts use, and the long job that trains all through the load.
        var series = await Api.UploadAsync(trainer, Api.SeasonalCsv(2000, seed), "series.csv");
        var serve = await Api.CreateJobAsync(trainer, new
        {
            datasetId = series, modelName = "serve", task = new { kind = "forecast", inputLength = 24, horizon = 1 },
            model = new { hiddenSize = 32 }, training = new { epochs = 3 },
        });
        await WaitFinalAsync(trainer, [serve], TimeSpan.FromSeconds(300));
        var longJob = await Api.CreateJobAsync(trainer, new
        {
            datasetId = series, modelName = "long", task = new { kind = "forecast", inputLength = 48, horizon = 6 },
            model = new { hiddenSize = 64, numLayers = 2 }, training = new { epochs = 100_000, earlyStoppingPatience = 0 },
        });
        var accepted = new ConcurrentBag<string>([serve, longJob]);
        var statuses = new ConcurrentDictionary<string, long>();
        var transport = new ConcurrentDictionary<string, long>();
        var latencies = new ConcurrentBag<double>();

        async Task<HttpResponseMessage?> Send(string label, Func<Task<HttpResponseMessage>> call)
        {
            try
            {
                var response = await call();
                statuses.AddOrUpdate($"{label} {(int)response.StatusCode}", 1, (_, n) => n + 1);
                await response.Content.LoadIntoBufferAsync();
                return response;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or IOException)
            {
                transport.AddOrUpdate($"{label}: {exception.GetType().Name}: {exception.Message}", 1, (_, n) => n + 1);
                return null;
            }
        }

        var random = new Random(seed);
        var bodies = Enumerable.Range(0, 256).Select(_ =>
        {
            var length = random.Next(24, 97);
            var phase = random.NextDouble() * 24;
            var values = Enumerable.Range(0, length).Select(t => Math.Round(10 + 3 * Math.Sin(2 * Math.PI * (t + phase) / 24), 3));
            return $"{{\"model\":\"serve\",\"inputs\":[[{string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture)))}]]}}";
        }).ToArray();

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var clock = Stopwatch.StartNew();
        var rss = new List<(double Seconds, long Bytes)>();
        var loops = new List<Task>();
        for (var client = 0; client < concurrency; client++)
        {
            var next = client * 37;
            loops.Add(Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var started = Stopwatch.GetTimestamp();
                    using var response = await Send("POST /predict", () => predictor.PostAsync("/predict",
                        new StringContent(bodies[next++ % bodies.Length], Encoding.UTF8, "application/json")));
                    if (response?.IsSuccessStatusCode == true) latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }));
        }
        // Uploads: a small series each second, every fourth one malformed (400); the oldest deleted past twenty.
        loops.Add(Task.Run(async () =>
        {
            var uploaded = new Queue<string>();
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var csv = n % 4 == 3 ? "value\n1.5\nnot a number\n" : Api.SeasonalCsv(300, seed + n);
                using var form = new MultipartFormDataContent { { new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "file", $"upload-{n}.csv" } };
                using var response = await Send("POST /datasets", () => trainer.PostAsync("/datasets", form));
                if (response?.IsSuccessStatusCode == true)
                    uploaded.Enqueue((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
                if (uploaded.Count > 20)
                {
                    var oldest = uploaded.Dequeue();
                    using var _ = await Send("DELETE /datasets/{id}", () => admin.DeleteAsync($"/datasets/{oldest}"));
                }
                await Delay(TimeSpan.FromSeconds(1), stop.Token);
            }
        }));
        // Jobs: a small one every 3 s, half of them cancelled after up to 3 s (queued, running or already done).
        loops.Add(Task.Run(async () =>
        {
            var jobRandom = new Random(seed + 1);
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                using var response = await Send("POST /training-jobs", () => trainer.PostAsJsonAsync("/training-jobs", new
                {
                    datasetId = series, modelName = $"small-{n % 5}", task = new { kind = "forecast", inputLength = 12, horizon = 1 },
                    model = new { hiddenSize = 8 }, training = new { epochs = 2 },
                }));
                if (response?.IsSuccessStatusCode == true)
                {
                    var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
                    accepted.Add(id);
                    if (jobRandom.Next(2) == 0)
                    {
                        await Delay(TimeSpan.FromSeconds(3 * jobRandom.NextDouble()), stop.Token);
                        using var _ = await Send("POST /training-jobs/{id}/cancel", () => trainer.PostAsync($"/training-jobs/{id}/cancel", null));
                    }
                }
                await Delay(TimeSpan.FromSeconds(3), stop.Token);
            }
        }));
        // Listings, as a dashboard would poll them.
        loops.Add(Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var (label, client, path) in new[]
                {
                    ("GET /training-jobs", trainer, "/training-jobs"), ("GET /datasets", trainer, "/datasets"),
                    ("GET /models", predictor, "/models"), ("GET /models/{name}", predictor, "/models/serve"),
                    ("GET /training-jobs/{id}", trainer, $"/training-jobs/{longJob}"),
                })
                {
                    using var _ = await Send(label, () => client.GetAsync(path));
                }
                await Delay(TimeSpan.FromSeconds(1), stop.Token);
            }
        }));
        loops.Add(Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                rss.Add((Math.Round(clock.Elapsed.TotalSeconds, 1), service.RssBytes()));
                Console.WriteLine($"{clock.Elapsed.TotalSeconds,6:F0} s  RSS {rss[^1].Bytes / 1048576.0:F0} MiB  {latencies.Count} predicts");
                await Delay(TimeSpan.FromSeconds(10), stop.Token);
            }
        }));
        await Task.WhenAll(loops);
        var loadSeconds = clock.Elapsed.TotalSeconds;
        var rssEnd = service.RssBytes();
        rss.Add((Math.Round(loadSeconds, 1), rssEnd));
        var rssWarm = rss.First(sample => sample.Seconds >= warmupSeconds).Bytes;

        // The long job is cancelled; every accepted job must then reach a final state.
        using (var _ = await Send("POST /training-jobs/{id}/cancel", () => trainer.PostAsync($"/training-jobs/{longJob}/cancel", null))) { }
        var finals = await WaitFinalAsync(trainer, accepted.ToArray(), TimeSpan.FromSeconds(300));
        var longProgress = (await Api.GetAsync(trainer, $"/training-jobs/{longJob}"))["progress"]?["epoch"]?.GetValue<int>() ?? 0;

        var sorted = latencies.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        var serverErrors = statuses.Where(pair => int.Parse(pair.Key[^3..], CultureInfo.InvariantCulture) >= 500).Sum(pair => pair.Value);
        var notFinal = finals.Where(pair => !Api.IsFinal(pair.Value)).Select(pair => pair.Key).ToList();
        var growth = (double)rssEnd / rssWarm - 1;
        var failures = new List<string>();
        if (serverErrors > 0) failures.Add($"{serverErrors} responses were 5xx");
        if (!transport.IsEmpty) failures.Add($"{transport.Values.Sum()} requests failed in transport");
        if (growth > 0.10) failures.Add($"RSS grew {growth:P1} after warm-up");
        if (notFinal.Count > 0) failures.Add($"{notFinal.Count} accepted jobs are not in a final state: {string.Join(", ", notFinal)}");

        var result = new
        {
            seconds = Math.Round(loadSeconds, 1), warmupSeconds, concurrency, seed,
            requests = statuses.Values.Sum(), serverErrors, transportErrors = transport,
            statuses = statuses.OrderBy(pair => pair.Key).ToDictionary(pair => pair.Key, pair => pair.Value),
            predicts = new
            {
                answered = sorted.Length, perSecond = Math.Round(sorted.Length / loadSeconds, 1),
                p50Ms = Math.Round(Percentile(0.5), 2), p99Ms = Math.Round(Percentile(0.99), 2), maxMs = Math.Round(Percentile(1), 2),
            },
            rss = new
            {
                afterWarmupMiB = Math.Round(rssWarm / 1048576.0, 1), endMiB = Math.Round(rssEnd / 1048576.0, 1),
                maxMiB = Math.Round(rss.Max(sample => sample.Bytes) / 1048576.0, 1), growth = Math.Round(growth, 4),
                samples = rss.Select(sample => new { seconds = sample.Seconds, mib = Math.Round(sample.Bytes / 1048576.0, 1) }),
            },
            jobs = new
            {
                accepted = finals.Count, byState = finals.GroupBy(pair => pair.Value).ToDictionary(group => group.Key, group => group.Count()),
                longJobEpochs = longProgress,
            },
            failures,
        };
        Report.Write(jsonPath, result);
        Console.WriteLine($"{result.requests} requests in {result.seconds} s: {serverErrors} 5xx, {transport.Values.Sum()} transport errors; " +
            $"predicts {result.predicts.perSecond}/s p50 {result.predicts.p50Ms} ms p99 {result.predicts.p99Ms} ms; " +
            $"RSS {result.rss.afterWarmupMiB} MiB after warm-up, {result.rss.endMiB} MiB at the end ({growth:+0.0%;-0.0%}); " +
            $"jobs: {string.Join(", ", result.jobs.byState.Select(pair => $"{pair.Value} {pair.Key}"))}");
        Console.WriteLine(failures.Count == 0 ? "PASSED" : "FAILED:\n  " + string.Join("\n  ", failures));
        return failures.Count == 0 ? 0 : 1;
    }

    private static async Task<Dictionary<string, string>> WaitFinalAsync(HttpClient client, IReadOnlyCollection<string> ids, TimeSpan timeout)
    {
        var states = new Dictionary<string, string>();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            foreach (var id in ids.Where(id => !states.TryGetValue(id, out var state) || !Api.IsFinal(state)))
                states[id] = (await Api.GetAsync(client, $"/training-jobs/{id}"))["state"]!.GetValue<string>();
            if (states.Values.All(Api.IsFinal) || deadline.Elapsed > timeout) return states;
            await Task.Delay(500);
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
