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
        "rnnservice.training.epoch.duration", "s", "Wall time of an epoch, its validation included");

    public static readonly Counter<long> Claims = Meter.CreateCounter<long>("rnnservice.jobs.claims", "{claim}", "Jobs claimed by this worker");

    public static readonly Counter<long> Requeued = Meter.CreateCounter<long>(
        "rnnservice.jobs.requeued", "{job}", "Running jobs whose lease ran out, put back in the queue (or failed as poison)");

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
}
