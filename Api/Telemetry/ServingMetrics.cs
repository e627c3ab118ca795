using System.Diagnostics;
using System.Diagnostics.Metrics;
using RnnService.Api.Inference;

namespace RnnService.Api.Telemetry;

/// <summary>
/// The serving side's instruments (meter <c>RnnService.Serving</c>), exported on <c>GET /metrics</c>. Predictions are
/// counted and timed per request by model, version and outcome (<c>ok</c>, <c>invalid</c>, <c>busy</c>, <c>error</c>);
/// (and <c>cancelled</c> when the client went away); each engine call records how many sequences it ran (average batch
/// size = sequences ÷ calls, as Triton's inference and execution counts give it), its padding and its time, and each
/// sequence how long it waited in the batcher's queue. The batchers' and the model cache's running totals are read when scraped,
/// so a request pays for one counter and one histogram, not for these.
/// </summary>
public sealed class ServingMetrics
{
    public const string MeterName = "RnnService.Serving";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Predictions = Meter.CreateCounter<long>(
        "rnnservice.predictions", "{request}", "POST /predict requests, by model, version and outcome");

    /// <summary>Seconds, from a millisecond to ten seconds (OpenTelemetry's default buckets are for milliseconds).</summary>
    internal static readonly InstrumentAdvice<double> SecondsBuckets = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10],
    };

    private static readonly Histogram<double> PredictDuration = Meter.CreateHistogram<double>(
        "rnnservice.predict.duration", "s", "POST /predict from the request read to the answer written, by outcome", advice: SecondsBuckets);

    private static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>(
        "rnnservice.batcher.queue.duration", "s", "How long a sequence waited in its model's batcher before its engine call", advice: SecondsBuckets);

    private static readonly Histogram<double> EngineDuration = Meter.CreateHistogram<double>(
        "rnnservice.engine.duration", "s", "Wall time of one engine call (a forward pass of a batch), by model", advice: SecondsBuckets);

    private static readonly Histogram<double> Padding = Meter.CreateHistogram<double>(
        "rnnservice.engine.padding", "1", "Fraction of an engine call's steps that are padding, by model",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7] });

    /// <summary>Sequences per engine call, by model (names the registry holds).</summary>
    private static readonly Histogram<long> BatchSize = Meter.CreateHistogram<long>(
        "rnnservice.engine.batch.size", "{sequence}", "Sequences run together in one engine call",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });

    private static readonly Counter<long> Rejections = Meter.CreateCounter<long>(
        "rnnservice.rejections", "{request}",
        "Requests refused for load, by reason (rate_limit, queue_full, client_share, model_queue_full) and status");

    public ServingMetrics(InferenceStatistics statistics, ModelCache cache)
    {
        Meter.CreateObservableCounter("rnnservice.engine.calls", () => statistics.EngineCalls, "{call}", "Forward passes run for predictions");
        Meter.CreateObservableCounter("rnnservice.engine.sequences", () => statistics.Sequences, "{sequence}", "Sequences run for predictions");
        Meter.CreateObservableCounter("rnnservice.engine.steps", () => new[]
        {
            new Measurement<long>(statistics.RealSteps, new KeyValuePair<string, object?>("kind", "real")),
            new Measurement<long>(statistics.PaddedSteps, new KeyValuePair<string, object?>("kind", "padded")),
        }, "{step}", "Steps run: real, and real plus padding (padding fraction = 1 − real ÷ padded)");
        Meter.CreateObservableUpDownCounter("rnnservice.engine.running", () => statistics.Running, "{call}", "Engine calls under way");
        Meter.CreateObservableUpDownCounter("rnnservice.batcher.queued", () => statistics.Queued, "{sequence}", "Sequences waiting in the batchers' queues");
        Meter.CreateObservableCounter("rnnservice.batcher.dropped", () => statistics.Dropped, "{sequence}", "Queued sequences dropped because their client had gone");
        Meter.CreateObservableCounter("rnnservice.batcher.refused", () => statistics.Refused, "{request}", "Requests refused because their model's queue was full");
        Meter.CreateObservableCounter("rnnservice.model_cache.loads", () => cache.Statistics.Loads, "{load}", "Model versions loaded into the cache");
        Meter.CreateObservableCounter("rnnservice.model_cache.hits", () => cache.Statistics.Hits, "{hit}", "Requests served by a version already loaded");
        Meter.CreateObservableCounter("rnnservice.model_cache.evictions", () => cache.Statistics.Evictions, "{eviction}", "Versions unloaded to make room");
        Meter.CreateObservableUpDownCounter("rnnservice.model_cache.models", () => cache.Statistics.Models, "{model}", "Versions loaded now");
        Meter.CreateObservableUpDownCounter("rnnservice.model_cache.size", () => cache.Statistics.Bytes, "By", "Bytes the loaded versions' weights take");
    }

    /// <summary>Counts and times one predict request; <paramref name="model"/> and <paramref name="version"/> once resolved.</summary>
    public static void RecordPrediction(int status, TimeSpan elapsed, string? model, int? version)
    {
        var outcome = status switch
        {
            < 400 => "ok",
            429 or 503 => "busy",
            499 => "cancelled",
            >= 500 => "error",
            _ => "invalid",
        };
        var tags = new TagList
        {
            // Only names the registry knows: an unknown name sent by a client must not make a series of its own.
            { "model", model ?? "" },
            { "version", version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "" },
            { "outcome", outcome },
        };
        Predictions.Add(1, tags);
        PredictDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
    }

    /// <summary>One engine call: its sequences, its padded share of steps and its wall time.</summary>
    public static void RecordEngineCall(string model, int sequences, double padding, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("model", model);
        BatchSize.Record(sequences, tag);
        Padding.Record(padding, tag);
        EngineDuration.Record(elapsed.TotalSeconds, tag);
    }

    public static void RecordQueueWait(TimeSpan waited) => QueueWait.Record(waited.TotalSeconds);

    public static void RecordRejection(string reason, int status) => Rejections.Add(1,
        new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("status", status));
}
