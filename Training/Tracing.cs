using System.Diagnostics;

namespace RnnService.Training;

/// <summary>
/// The service's spans (source <c>RnnService</c>): a prediction, its wait in the batcher's queue, the batch and the engine
/// call; a job's claim and run, each epoch and each checkpoint written. Exported over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; with nothing listening, starting one costs a null check.
/// </summary>
public static class Tracing
{
    public const string SourceName = "RnnService";

    public static readonly ActivitySource Source = new(SourceName);
}
