// What the metrics add to one prediction, in CPU time: the records a served request makes (its prediction counter and
// duration, its sequence's queue wait, one engine call's size, padding and time, as if every request had an engine
// call of its own, which over-counts), plus a stand-in for ASP.NET Core's request-duration histogram (five tags),
// timed on one thread with an OpenTelemetry MeterProvider and its Prometheus exporter listening ("on") and with none
// ("off"), interleaved, median of the rounds. bench/serving/metrics.sh measures the same end to end, where the
// machine's noise hides it.
//   dotnet run -c Release --project bench/MetricsCost [rounds] [requests per round]
using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using RnnService.Api.Telemetry;

var rounds = args.Length > 0 ? int.Parse(args[0]) : 7;
var requests = args.Length > 1 ? int.Parse(args[1]) : 1_000_000;
using var hosting = new Meter("Bench.AspNetCore.Hosting");
var requestDuration = hosting.CreateHistogram<double>("http.server.request.duration", "s");

double Round()
{
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < requests; i++)
    {
        var elapsed = TimeSpan.FromTicks(20_000 + (i & 1023));
        ServingMetrics.RecordQueueWait(elapsed / 10);
        ServingMetrics.RecordEngineCall("bench", 1 + (i & 7), 0.1, elapsed / 2);
        ServingMetrics.RecordPrediction(200, elapsed, "bench", 1);
        requestDuration.Record(elapsed.TotalSeconds, new TagList
        {
            { "http.request.method", "POST" }, { "url.scheme", "http" }, { "http.route", "/predict" },
            { "http.response.status_code", 200 }, { "network.protocol.version", "1.1" },
        });
    }
    return clock.Elapsed.TotalNanoseconds / requests;
}

var on = new List<double>();
var off = new List<double>();
Round(); // JIT
for (var round = 0; round < rounds; round++)
{
    off.Add(Round());
    using (Sdk.CreateMeterProviderBuilder().AddMeter(ServingMetrics.MeterName, hosting.Name).AddPrometheusExporter().Build())
    {
        Round(); // the provider's first records make its series
        on.Add(Round());
    }
}
double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
Console.WriteLine($"{Environment.ProcessorCount} cores; {rounds} rounds of {requests} requests");
Console.WriteLine($"metrics on:  {Median(on):F0} ns a request (rounds: {string.Join(", ", on.Select(v => v.ToString("F0")))})");
Console.WriteLine($"metrics off: {Median(off):F0} ns a request (rounds: {string.Join(", ", off.Select(v => v.ToString("F0")))})");
Console.WriteLine($"added by metrics: {Median(on) - Median(off):F0} ns a request");
