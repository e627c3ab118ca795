using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RnnService.Training.Pipeline;

namespace RnnService.Bench.Reliability;

/// <summary>
/// kill -9 of the service process (the worker of the embedded default) at random points while it trains a job, then a
/// restart on the same data folder, several times over, and a last stop by SIGTERM: the job must finish once, from its
/// checkpoints, with one model version, every epoch in its history once, and no epoch that a checkpoint held before a
/// stop trained again; SIGTERM must end the process with 0 after checkpointing where the job stood.
/// </summary>
public static class Fault
{
    private const int Epochs = 12;

    private sealed record KillRecord(
        int Attempt, string Signal, double SecondsIntoAttempt, int EpochReported, int EpochCheckpointed, int BatchesCheckpointed,
        int DamagedCheckpoints, double AtSeconds);

    private sealed record TermRecord(int ExitCode, double ExitSeconds);

    public static async Task<int> RunAsync(string apiDll, string work, int seed, int kills, string jsonPath)
    {
        var data = Path.Combine(work, "data");
        var environment = new Dictionary<string, string>
        {
            ["Storage__DataDirectory"] = data,
            // A killed worker's lease lapses after 3 s; then the restarted worker claims the job again.
            ["Worker__LeaseSeconds"] = "3",
            ["Worker__HeartbeatSeconds"] = "0.5",
            ["Worker__PollSeconds"] = "0.2",
        };
        var random = new Random(seed);
        var log = Path.Combine(work, "fault-service.log");
        var service = ServiceUnderTest.Start(apiDll, environment, log);
        var port = service.Address.Port;
        using var client = new HttpClient { BaseAddress = service.Address, Timeout = TimeSpan.FromSeconds(30) };
        await service.WaitReadyAsync(TimeSpan.FromSeconds(120));

        var dataset = await Api.UploadAsync(client, Api.SeasonalCsv(4000, seed), "fault.csv");
        var jobId = await Api.CreateJobAsync(client, new
        {
            datasetId = dataset, modelName = "fault",
            task = new { kind = "forecast", inputLength = 48, horizon = 6 },
            model = new { cell = "lstm", hiddenSize = 48, numLayers = 2, dropout = 0.1 },
            training = new { epochs = Epochs, batchSize = 16, earlyStoppingPatience = 0, seed },
        });
        Console.WriteLine($"job {jobId} queued; {kills} kills follow (seed {seed})");

        TermRecord? term = null;
        var clock = Stopwatch.StartNew();
        var records = new List<KillRecord>();
        var failures = new List<string>();
        // kill -9 the given number of times, then one SIGTERM: the graceful stop must checkpoint where the job stands.
        for (var kill = 1; kill <= kills + 1; kill++)
        {
            var graceful = kill == kills + 1;
            // The job claimed again by this process, then stopped at a random moment of its training.
            var claimed = await WaitForJobAsync(client, jobId, job => job["attempts"]!.GetValue<int>() == kill && State(job) == "running" || IsFinal(job));
            if (IsFinal(claimed))
            {
                failures.Add($"the job ended ({State(claimed)}) before stop {kill}; make it longer");
                break;
            }
            var into = Stopwatch.StartNew();
            var delay = TimeSpan.FromSeconds(1 + 5 * random.NextDouble());
            var reported = 0;
            while (into.Elapsed < delay)
            {
                var job = await Api.GetAsync(client, $"/training-jobs/{jobId}");
                reported = job["progress"]?["epoch"]?.GetValue<int>() ?? reported;
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100, Math.Max(0, (delay - into.Elapsed).TotalMilliseconds))));
            }
            var seconds = into.Elapsed.TotalSeconds;
            if (graceful)
            {
                var stopping = Stopwatch.StartNew();
                var code = await service.TerminateAsync(TimeSpan.FromSeconds(60));
                term = new TermRecord(code, Math.Round(stopping.Elapsed.TotalSeconds, 2));
                if (code != 0) failures.Add($"SIGTERM: the service exited with {code}");
            }
            else service.Kill();
            var checkpoint = CheckpointFiles.TryLoad(Path.Combine(data, "checkpoints", jobId), out var rejected);
            var record = new KillRecord(kill, graceful ? "SIGTERM" : "SIGKILL", Math.Round(seconds, 2), reported,
                checkpoint?.Progress.Epoch ?? 0, checkpoint?.Progress.Unfinished?.Batches ?? 0, rejected.Count, Math.Round(clock.Elapsed.TotalSeconds, 1));
            records.Add(record);
            Console.WriteLine($"{record.Signal} {kill}: {record.SecondsIntoAttempt} s into attempt {kill}, epoch {reported} reported, " +
                $"{record.EpochCheckpointed} checkpointed" + (record.BatchesCheckpointed > 0 ? $" and {record.BatchesCheckpointed} batches of the next" : "") +
                (graceful ? $"; exited with {term!.ExitCode} after {term.ExitSeconds} s" : ""));
            if (graceful && !File.ReadLines(log).Any(line => line.Contains($"Job {jobId} stopped in epoch")))
                failures.Add("SIGTERM: the log does not say where the job stopped");
            service.Dispose();
            service = ServiceUnderTest.Start(apiDll, environment, log, port);
            await service.WaitReadyAsync(TimeSpan.FromSeconds(120));
        }

        var done = await WaitForJobAsync(client, jobId, IsFinal, timeoutSeconds: 900);
        var history = done["history"]!.AsArray().Select(entry => (Epoch: entry!["epoch"]!.GetValue<int>(), Attempt: entry["attempt"]!.GetValue<int>())).ToList();
        if (State(done) != "succeeded") failures.Add($"the job ended {State(done)}: {done["error"]}");
        if (done["attempts"]!.GetValue<int>() != records.Count + 1)
            failures.Add($"the job was claimed {done["attempts"]} times, expected {records.Count + 1}");
        if (!history.Select(entry => entry.Epoch).SequenceEqual(Enumerable.Range(1, Epochs)))
            failures.Add($"history epochs {string.Join(",", history.Select(entry => entry.Epoch))}, expected 1..{Epochs} once each");
        foreach (var record in records)
        {
            // Checkpointed epochs were trained before the kill; the others after it.
            var retrained = history.Where(entry => entry.Epoch <= record.EpochCheckpointed && entry.Attempt > record.Attempt).ToList();
            var early = history.Where(entry => entry.Epoch > record.EpochCheckpointed && entry.Attempt <= record.Attempt).ToList();
            if (retrained.Count > 0) failures.Add($"stop {record.Attempt}: epochs {string.Join(",", retrained)} were checkpointed yet trained again");
            if (early.Count > 0) failures.Add($"stop {record.Attempt}: epochs {string.Join(",", early)} are recorded but were not checkpointed");
        }
        var model = await Api.GetAsync(client, "/models/fault");
        var versions = model["versions"]!.AsArray();
        if (versions.Count != 1) failures.Add($"{versions.Count} model versions, expected 1");
        var version = await Api.GetAsync(client, "/models/fault/versions/1");
        if (version["source"]?.GetValue<string>() != jobId) failures.Add($"version 1 comes from {version["source"]}, not {jobId}");
        using var predict = await client.PostAsJsonAsync("/predict", new
        {
            model = "fault", inputs = new[] { Enumerable.Range(0, 48).Select(t => 10 + 3 * Math.Sin(2 * Math.PI * t / 24)).ToArray() },
        });
        if (!predict.IsSuccessStatusCode) failures.Add($"predict with the model: {(int)predict.StatusCode}");
        service.Dispose();

        var result = new
        {
            seed, stops = records, sigterm = term, job = jobId, state = State(done), attempts = done["attempts"]!.GetValue<int>(), epochs = Epochs,
            historyAttempts = history.Select(entry => entry.Attempt), modelVersions = versions.Count,
            predict = (int)predict.StatusCode, seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), failures,
        };
        Report.Write(jsonPath, result);
        Console.WriteLine(failures.Count == 0
            ? $"PASSED: {kills} kills and a SIGTERM, job {State(done)} after {result.attempts} claims, epochs 1..{Epochs} once each, {versions.Count} version"
            : "FAILED:\n  " + string.Join("\n  ", failures));
        return failures.Count == 0 ? 0 : 1;
    }

    private static string State(JsonObject job) => job["state"]!.GetValue<string>();

    private static bool IsFinal(JsonObject job) => Api.IsFinal(State(job));

    private static async Task<JsonObject> WaitForJobAsync(HttpClient client, string id, Func<JsonObject, bool> done, int timeoutSeconds = 120)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var job = await Api.GetAsync(client, $"/training-jobs/{id}");
            if (done(job)) return job;
            if (deadline.Elapsed.TotalSeconds > timeoutSeconds) throw new TimeoutException($"job {id} is still {State(job)}");
            await Task.Delay(100);
        }
    }
}
