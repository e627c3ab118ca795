using System.Diagnostics;
using RnnService.Domain.Jobs;
using RnnService.Training.Pipeline;

namespace RnnService.Training.Jobs;

/// <summary>
/// Turns the epoch loop's report after every batch into the job's <c>progress</c>: written to the store at most once per
/// <c>interval</c> (the API may serve the job from another process), never two writes at once, and read by the process's
/// live training gauges at every scrape. The epoch's own record waits for a write under way, so that an older in-epoch
/// figure never lands after it.
/// </summary>
internal sealed class ProgressReporter : IDisposable
{
    private readonly string jobId;
    private readonly int epochs;
    private readonly TimeSpan limit;
    private readonly TimeSpan interval;
    private readonly Func<JobProgress, Task> write;
    private readonly Stopwatch sinceWrite = Stopwatch.StartNew();
    private readonly TrainingMetrics.LiveJob live;
    private Task pending = Task.CompletedTask;
    private BatchProgress? last;
    private JobProgress? latest;

    public ProgressReporter(string jobId, string model, int epochs, TimeSpan limit, TimeSpan interval, JobProgress? stored, Func<JobProgress, Task> write)
    {
        this.jobId = jobId;
        this.epochs = epochs;
        this.limit = limit;
        this.interval = interval;
        this.write = write;
        latest = stored;
        live = TrainingMetrics.Start(jobId, model);
    }

    public void AfterBatch(BatchProgress batch)
    {
        last = batch;
        var (perBatch, rate) = Pace(batch);
        live.Update(rate, (double)batch.BatchesDone / batch.BatchCount);
        if (sinceWrite.Elapsed < interval || !pending.IsCompleted) return;
        sinceWrite.Restart();
        var validation = batch.ValidationSeconds ?? 0;
        var epochLeft = (batch.BatchCount - batch.BatchesDone) * perBatch + validation;
        var elapsed = batch.ElapsedBefore + batch.Seconds;
        var figures = new JobProgress(
            batch.Epoch - 1, epochs, latest?.TrainLoss, latest?.ValidationLoss, elapsed, latest?.BestEpoch,
            batch.BatchesDone, batch.BatchCount, Round(rate), Round(epochLeft),
            Round(Capped(epochLeft + (epochs - batch.Epoch) * (batch.BatchCount * perBatch + validation), elapsed)));
        latest = figures;
        // Off the training thread: SQLite's provider runs its "async" writes synchronously.
        pending = Task.Run(() => write(figures));
    }

    /// <summary>The figures of an epoch just finished, once any in-epoch write has landed.</summary>
    public JobProgress AfterEpoch(EpochEntry entry, TrainerProgress progress)
    {
        try
        {
            pending.GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            // An in-epoch figure that did not land is replaced by this one.
        }
        double? rate = null, nextEpoch = null, jobLeft = null;
        int? batches = null;
        if (last is { } batch && batch.Epoch == entry.Epoch)
        {
            var (perBatch, pace) = Pace(batch);
            rate = Round(pace);
            batches = batch.BatchCount;
            // The next epoch is as long as this one was, its validation included.
            var epochSeconds = batch.BatchCount * perBatch + (entry.ElapsedSeconds - batch.ElapsedBefore - batch.Seconds);
            var more = progress.StoppedEarly ? 0 : epochs - entry.Epoch;
            nextEpoch = more > 0 ? Round(epochSeconds) : 0;
            jobLeft = Round(Capped(more * epochSeconds, entry.ElapsedSeconds));
        }
        latest = new JobProgress(
            entry.Epoch, epochs, entry.TrainLoss, entry.ValidationLoss, entry.ElapsedSeconds, progress.BestEpoch,
            batches is null ? null : 0, batches, rate, nextEpoch, jobLeft);
        return latest;
    }

    public void Dispose() => TrainingMetrics.Stop(jobId, live);

    /// <summary>Seconds a batch and sequences a second, over what this claim trained of the epoch.</summary>
    private static (double PerBatch, double Rate) Pace(BatchProgress batch)
    {
        var trained = Math.Max(1, batch.BatchesDone - batch.FirstBatch);
        return (batch.Seconds / trained, batch.Seconds > 0 ? batch.SequencesDone / batch.Seconds : 0);
    }

    /// <summary>No estimate runs past the job's time limit.</summary>
    private double Capped(double left, double elapsed) =>
        limit == TimeSpan.MaxValue ? left : Math.Max(0, Math.Min(left, limit.TotalSeconds - elapsed));

    private static double Round(double value) => Math.Round(value, 2);
}
