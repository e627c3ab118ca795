// Closed-loop load on POST /predict over loopback: N clients, each sending its next request as soon as the last one
// is answered, for a fixed time. Requests are made up in advance (seeded): one sequence each, of random length in
// [min, max] steps of F features. Prints one JSON line: requests/s, latency percentiles, errors.
//
//   LoadGen --url http://127.0.0.1:5090 --model bench --concurrency 16 --seconds 10 [--features 8] [--min 20] [--max 200]
//           [--warmup 2] [--sequences 1]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

var settings = new Dictionary<string, string>
{
    ["url"] = "http://127.0.0.1:5090", ["model"] = "bench", ["concurrency"] = "1", ["seconds"] = "10", ["features"] = "8",
    ["min"] = "20", ["max"] = "200", ["warmup"] = "2", ["sequences"] = "1", ["seed"] = "1",
};
for (var i = 0; i + 1 < args.Length; i += 2) settings[args[i].TrimStart('-')] = args[i + 1];
int Setting(string name) => int.Parse(settings[name], CultureInfo.InvariantCulture);

var url = new Uri(new Uri(settings["url"]), "/predict");
int concurrency = Setting("concurrency"), features = Setting("features"), min = Setting("min"), max = Setting("max");
if (!IPAddress.IsLoopback(Dns.GetHostAddresses(url.Host)[0])) throw new ArgumentException("load goes to loopback only");

var random = new Random(Setting("seed"));
var bodies = Enumerable.Range(0, 512).Select(_ =>
{
    var text = new StringBuilder($"{{\"model\":\"{settings["model"]}\",\"inputs\":[");
    for (var s = 0; s < Setting("sequences"); s++)
    {
        if (s > 0) text.Append(',');
        text.Append('[');
        var length = random.Next(min, max + 1);
        for (var t = 0; t < length; t++)
        {
            if (t > 0) text.Append(',');
            text.Append('[');
            for (var f = 0; f < features; f++)
                text.Append(f > 0 ? "," : "").Append((random.NextDouble() * 2 - 1).ToString("F4", CultureInfo.InvariantCulture));
            text.Append(']');
        }
        text.Append(']');
    }
    return Encoding.UTF8.GetBytes(text.Append("]}").ToString());
}).ToArray();

using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency + 1, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
{
    Timeout = TimeSpan.FromSeconds(60),
};

async Task<(List<double> Latencies, int Errors)> RunAsync(TimeSpan duration)
{
    var stop = Stopwatch.StartNew();
    var latencies = new List<double>[concurrency];
    var errors = 0;
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
    {
        latencies[worker] = [];
        var next = worker * 37;
        while (stop.Elapsed < duration)
        {
            var body = new ByteArrayContent(bodies[next++ % bodies.Length]);
            body.Headers.ContentType = new("application/json");
            var started = Stopwatch.GetTimestamp();
            using var response = await client.PostAsync(url, body);
            await response.Content.LoadIntoBufferAsync();
            if (response.IsSuccessStatusCode) latencies[worker].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            else Interlocked.Increment(ref errors);
        }
    }));
    return (latencies.SelectMany(l => l).ToList(), errors);
}

await RunAsync(TimeSpan.FromSeconds(Setting("warmup")));
var seconds = Setting("seconds");
var (measured, failed) = await RunAsync(TimeSpan.FromSeconds(seconds));
measured.Sort();
double Percentile(double p) => measured.Count == 0 ? double.NaN : measured[Math.Min(measured.Count - 1, (int)Math.Ceiling(p * measured.Count) - 1)];
Console.WriteLine(JsonSerializer.Serialize(new
{
    concurrency,
    requests = measured.Count,
    errors = failed,
    requestsPerSecond = Math.Round(measured.Count / (double)seconds, 1),
    p50Ms = Math.Round(Percentile(0.50), 2),
    p99Ms = Math.Round(Percentile(0.99), 2),
}));
return failed > 0 ? 1 : 0;
