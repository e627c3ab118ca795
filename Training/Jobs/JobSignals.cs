using System.Collections.Concurrent;

namespace RnnService.Training.Jobs;

/// <summary>
/// In-process shortcuts around the database: wakes the local worker when a job is queued, and cancels a local running
/// job at once. Other processes learn the same from the database, at their next poll or heartbeat.
/// </summary>
public sealed class JobSignals
{
    private readonly SemaphoreSlim queued = new(0);
    private readonly SemaphoreSlim tuning = new(0);
    private readonly ConcurrentDictionary<string, Action> running = new();

    public void JobQueued()
    {
        if (queued.CurrentCount == 0) queued.Release();
    }

    public Task WaitForJobAsync(TimeSpan timeout, CancellationToken cancellationToken) => queued.WaitAsync(timeout, cancellationToken);

    /// <summary>A tuning job was submitted or cancelled, or one of its trials ended: the local coordinator looks now.</summary>
    public void TuningChanged()
    {
        if (tuning.CurrentCount == 0) tuning.Release();
    }

    public Task WaitForTuningAsync(TimeSpan timeout, CancellationToken cancellationToken) => tuning.WaitAsync(timeout, cancellationToken);

    public IDisposable Running(string jobId, Action cancel)
    {
        running[jobId] = cancel;
        return new Registration(() => running.TryRemove(jobId, out _));
    }

    public void Cancel(string jobId)
    {
        if (running.TryGetValue(jobId, out var cancel)) cancel();
    }

    private sealed class Registration(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
