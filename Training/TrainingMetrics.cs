using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace RnnService.Training;

/// <summary>
/// The training side's instruments (meter <c>RnnService.Training</c>), exported with the rest on <c>GET /metrics</c>:
/// epochs, batches and sequences trained, epoch durations, and the queue's claims, re-queues after a lost lease and
/// jobs ended by state. Names and units follow OpenTelemetry's conventions (dotted names, UCUM units, <c>{thing}</c>
/// for counts); Prometheus shows them as <c>rnnservice_training_epochs_total</c> and so on.
/// </summary>
public static class TrainingMetrics
{
    public const string MeterName = "RnnService.Training";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> Epochs = Meter.CreateCounter<long>("rnnservice.training.epochs", "{epoch}", "Epochs finished");

    public static readonly Counter<long> Batches = Meter.CreateCounter<long>("rnnservice.training.batches", "{batch}", "Training steps taken");

    public static readonly Counter<long> Sequences = Meter.CreateCounter<long>(
        "rnnservice.training.sequences", "{sequence}", "Training sequences passed through a step");

    public static readonly Histogram<double> EpochDuration = Meter.CreateHistogram<double>(
        "rnnservice.training.epoch.duration", "s", "Wall time of an epoch, its validation included", advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
        });

    public static readonly Counter<long> Claims = Meter.CreateCounter<long>("rnnservice.jobs.claims", "{claim}", "Jobs claimed by this worker");

    public static readonly Counter<long> LeaseExpiries = Meter.CreateCounter<long>(
        "rnnservice.jobs.lease_expiries", "{job}",
        "Running jobs whose lease ran out (their worker died or stalled), by outcome: requeued, or failed as poison");

    public static readonly Counter<long> Ended = Meter.CreateCounter<long>("rnnservice.jobs.ended", "{job}", "Jobs this worker ended, by state");

    private static readonly ConcurrentDictionary<string, LiveJob> Live = new();

    private static readonly ObservableGauge<double> Throughput = Meter.CreateObservableGauge(
        "rnnservice.training.throughput", () => Live.Select(job => new Measurement<double>(job.Value.Rate, job.Value.Tags)),
        "{sequence}/s", "Training sequences a second over the epoch under way, by running job and model");

    private static readonly ObservableGauge<double> EpochProgress = Meter.CreateObservableGauge(
        "rnnservice.training.epoch.progress", () => Live.Select(job => new Measurement<double>(job.Value.Fraction, job.Value.Tags)),
        "1", "How much of the epoch under way is trained (0 to 1), by running job and model");

    /// <summary>A job this process trains now: its gauges' series last as long as it runs here.</summary>
    public static LiveJob Start(string job, string model) => Live[job] = new LiveJob(job, model);

    public static void Stop(string job, LiveJob live) => Live.TryRemove(new KeyValuePair<string, LiveJob>(job, live));

    public sealed class LiveJob(string job, string model)
    {
        public KeyValuePair<string, object?>[] Tags { get; } = [new("job", job), new("model", model)];

        public double Rate { get; private set; }

        public double Fraction { get; private set; }

        public void Update(double rate, double fraction) => (Rate, Fraction) = (rate, fraction);
    }

    private static readonly ConcurrentDictionary<object, Func<IEnumerable<(string State, long Count)>>> JobCounts = new();

    private static readonly ObservableGauge<long> Jobs = Meter.CreateObservableGauge("rnnservice.jobs", () =>
        JobCounts.Values.SelectMany(count =>
        {
            try
            {
                return count().ToList();
            }
            catch (Exception)
            {
                // The store is not reachable (or not migrated yet): no figure rather than a failed scrape.
                return [];
            }
        }).GroupBy(row => row.State)
        .Select(state => new Measurement<long>(state.Sum(row => row.Count), new KeyValuePair<string, object?>("state", state.Key))),
        "{job}", "Training jobs in the store, by state");

    /// <summary>
    /// Counts the store's jobs by state for the <c>rnnservice.jobs</c> gauge, at every scrape, until disposed (the host
    /// stops). The store is shared by every process, so the api role reports it and workers do not: a dashboard's sum is
    /// the store's.
    /// </summary>
    public static IDisposable ObserveJobs(Func<IEnumerable<(string State, long Count)>> count)
    {
        var key = new object();
        JobCounts[key] = count;
        return new Registration(() => JobCounts.TryRemove(key, out _));
    }

    private sealed class Registration(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
