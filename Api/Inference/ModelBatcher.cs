using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using RnnService.Api.Infrastructure;
using RnnService.Training.Tasks;
using RnnService.Training.Torch;

namespace RnnService.Api.Inference;

/// <summary>The head outputs of one sequence, and its per-step states (<c>length × stateSize</c>) when asked for.</summary>
public sealed record SequenceResult(float[] Output, float[]? States);

/// <summary>Counters over every batcher of the process: what batching did.</summary>
public sealed class InferenceStatistics
{
    private long engineCalls, running, sequences, dropped, refused, realSteps, paddedSteps, queued;

    public long EngineCalls => Interlocked.Read(ref engineCalls);

    /// <summary>Engine calls under way now.</summary>
    public long Running => Interlocked.Read(ref running);

    public long Sequences => Interlocked.Read(ref sequences);

    /// <summary>Sequences waiting in the batchers' queues now.</summary>
    public long Queued => Interlocked.Read(ref queued);

    /// <summary>Sequences taken out of the queue unrun because their client had gone away.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>Requests refused (503) because their model's queue was full.</summary>
    public long Refused => Interlocked.Read(ref refused);

    public long RealSteps => Interlocked.Read(ref realSteps);

    /// <summary>Engine calls × their longest length, summed: <see cref="RealSteps"/> plus padding.</summary>
    public long PaddedSteps => Interlocked.Read(ref paddedSteps);

    internal void RecordStart() => Interlocked.Increment(ref running);

    internal void RecordEnd() => Interlocked.Decrement(ref running);

    internal void RecordCall(int count, long real, long padded)
    {
        Interlocked.Increment(ref engineCalls);
        Interlocked.Add(ref sequences, count);
        Interlocked.Add(ref realSteps, real);
        Interlocked.Add(ref paddedSteps, padded);
    }

    internal void RecordDropped() => Interlocked.Increment(ref dropped);

    internal void RecordQueued(long change) => Interlocked.Add(ref queued, change);

    internal void RecordRefused() => Interlocked.Increment(ref refused);
}

/// <summary>
/// Dynamic batching for one loaded model version. Concurrent requests put their sequences in one queue; a single loop
/// takes what is there, waits up to <see cref="BatchingOptions.MaxWaitMilliseconds"/> for more while the batch is not
/// full, sorts what it gathered by length, runs it in as few engine calls as the size and padding limits allow (up to
/// <see cref="BatchingOptions.MaxConcurrentBatches"/> batches at once), and hands each request its own results. Sequences whose client has gone away are dropped before they run. A sequence's
/// result does not depend on its batch-mates: packing stops every sequence at its own length.
/// </summary>
public sealed class ModelBatcher
{
    private readonly LoadedModel model;
    private readonly BatchingOptions options;
    private readonly InferenceStatistics statistics;
    private readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim slots;
    private int inFlight;
    private int queued;

    internal ModelBatcher(LoadedModel model, BatchingOptions options, int concurrentBatches, InferenceStatistics statistics)
    {
        this.model = model;
        this.options = options;
        this.statistics = statistics;
        slots = new SemaphoreSlim(concurrentBatches, concurrentBatches);
        // The loop waits on the queue without a thread until the first sequence arrives.
        if (options.Enabled) _ = Task.Run(LoopAsync);
    }

    /// <summary>Runs a request's sequences, batched with whatever else is waiting; results are in the request's order.</summary>
    public Task<SequenceResult[]> RunAsync(PreparedSequence[] sequences, bool states, CancellationToken cancellationToken)
    {
        if (!options.Enabled) return Task.FromResult(RunNow(sequences, states));
        var waiting = Interlocked.Add(ref queued, sequences.Length);
        statistics.RecordQueued(sequences.Length);
        if (waiting > options.MaxQueuedSequences && waiting > sequences.Length)
        {
            Interlocked.Add(ref queued, -sequences.Length);
            statistics.RecordQueued(-sequences.Length);
            statistics.RecordRefused();
            throw new ServiceBusyException(
                $"The model's queue is full ({options.MaxQueuedSequences} sequences waiting at most); retry shortly.", retryAfterSeconds: 1);
        }
        Interlocked.Increment(ref inFlight);
        var request = new PendingRequest(sequences.Length, () => Interlocked.Decrement(ref inFlight), cancellationToken);
        for (var i = 0; i < sequences.Length; i++)
        {
            if (!queue.Writer.TryWrite(new Pending(request, i, sequences[i], states)))
            {
                // The model is being unloaded: this request still has it. What was written is run by the loop.
                Interlocked.Add(ref queued, -(sequences.Length - i));
                statistics.RecordQueued(-(sequences.Length - i));
                return Task.FromResult(RunNow(sequences, states));
            }
        }
        return request.Task;
    }

    /// <summary>Ends the loop once the queue is empty; called when the model leaves the cache.</summary>
    internal void Complete() => queue.Writer.TryComplete();

    /// <summary>Without batching: the request's own sequences, sorted and split by the same rules, on the caller's thread.</summary>
    private SequenceResult[] RunNow(PreparedSequence[] sequences, bool states)
    {
        var results = new SequenceResult[sequences.Length];
        var items = Enumerable.Range(0, sequences.Length)
            .Select(i => new Pending(null, i, sequences[i], states)).ToList();
        Execute(items, (item, result) => results[item.Index] = result, (_, exception) => ExceptionDispatchInfo.Throw(exception));
        return results;
    }

    private async Task LoopAsync()
    {
        var reader = queue.Reader;
        var wait = TimeSpan.FromMilliseconds(options.MaxWaitMilliseconds);
        while (await reader.WaitToReadAsync())
        {
            // While every slot is busy, arrivals wait in the queue and make the next batch bigger.
            await slots.WaitAsync();
            var gathered = new List<Pending>(options.MaxBatchSequences);
            var requests = 0;
            var deadline = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
            while (gathered.Count < options.MaxBatchSequences)
            {
                if (reader.TryRead(out var item))
                {
                    Interlocked.Decrement(ref queued);
                    statistics.RecordQueued(-1);
                    if (item.Request!.IsAbandoned) statistics.RecordDropped();
                    else
                    {
                        gathered.Add(item);
                        if (item.Index == 0) requests++;
                    }
                    continue;
                }
                // Waiting pays only when other requests are under way; a lone client is not kept waiting for company.
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (gathered.Count == 0 || left <= TimeSpan.Zero || requests >= Volatile.Read(ref inFlight)) break;
                using var timeout = new CancellationTokenSource(left);
                try
                {
                    if (!await reader.WaitToReadAsync(timeout.Token)) break;
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            // Clients may have gone away while the batch waited for company.
            var abandoned = gathered.RemoveAll(item => item.Request!.IsAbandoned);
            for (var i = 0; i < abandoned; i++) statistics.RecordDropped();
            if (gathered.Count == 0)
            {
                slots.Release();
                continue;
            }
            _ = Task.Run(() =>
            {
                try
                {
                    Execute(gathered, (item, result) => item.Request!.Complete(item.Index, result), (item, exception) => item.Request!.Fail(exception));
                }
                finally
                {
                    slots.Release();
                }
            });
        }
    }

    /// <summary>Sorts by length, splits into engine calls, runs them; each item's result or failure goes to its callback.</summary>
    private void Execute(List<Pending> items, Action<Pending, SequenceResult> done, Action<Pending, Exception> failed)
    {
        items.Sort((a, b) => a.Sequence.Length.CompareTo(b.Sequence.Length));
        if (!model.TryAcquireForBatch())
        {
            var gone = new ObjectDisposedException(nameof(LoadedModel), "the model was unloaded");
            foreach (var item in items) failed(item, gone);
            return;
        }
        try
        {
            var start = 0;
            while (start < items.Count)
            {
                var count = LengthGroups.NextCount(items, start, options.MaxBatchSequences, options.MaxPaddingRatio);
                var chunk = items.GetRange(start, count);
                start += count;
                try
                {
                    RunChunk(chunk, done);
                }
                catch (Exception exception)
                {
                    foreach (var item in chunk) failed(item, exception);
                }
            }
        }
        finally
        {
            model.Release();
        }
    }

    private void RunChunk(List<Pending> chunk, Action<Pending, SequenceResult> done)
    {
        var spec = model.Model.Spec;
        var batch = spec.HasEmbedding
            ? SequenceBatch.FromTokens(chunk.Select(item => item.Sequence.Tokens!).ToList())
            : SequenceBatch.FromFeatures(chunk.Select(item => item.Sequence.Features!).ToList(), spec.InputSize);
        var states = chunk.Exists(item => item.States);
        statistics.RecordStart();
        ForwardResult result;
        try
        {
            result = model.Model.Forward(batch, returnStates: states);
        }
        finally
        {
            statistics.RecordEnd();
        }
        statistics.RecordCall(chunk.Count, batch.Lengths.Sum(), (long)batch.Count * batch.Steps);
        Telemetry.ServingMetrics.RecordEngineCall(model.Name, chunk.Count);
        for (var i = 0; i < chunk.Count; i++)
        {
            var item = chunk[i];
            done(item, new SequenceResult(result.Output(i).ToArray(), item.States ? result.StatesOf(i).ToArray() : null));
        }
    }

    internal sealed record Pending(PendingRequest? Request, int Index, PreparedSequence Sequence, bool States);

    /// <summary>One request's sequences in the queue: complete when the last result is in, failed by the first error.</summary>
    internal sealed class PendingRequest
    {
        private readonly TaskCompletionSource<SequenceResult[]> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SequenceResult[] results;
        private readonly CancellationToken cancellationToken;
        private readonly CancellationTokenRegistration registration;
        private readonly Action finished;
        private int remaining;
        private int ended;

        /// <summary><paramref name="finished"/> runs once, as soon as the request is answered, failed or abandoned.</summary>
        public PendingRequest(int count, Action finished, CancellationToken cancellationToken)
        {
            results = new SequenceResult[count];
            remaining = count;
            this.finished = finished;
            this.cancellationToken = cancellationToken;
            if (cancellationToken.CanBeCanceled)
                registration = cancellationToken.Register(() =>
                {
                    if (completion.TrySetCanceled(cancellationToken)) End();
                });
        }

        public Task<SequenceResult[]> Task => completion.Task;

        /// <summary>The client went away or an earlier part failed: the rest need not run.</summary>
        public bool IsAbandoned => cancellationToken.IsCancellationRequested || completion.Task.IsCompleted;

        public void Complete(int index, SequenceResult result)
        {
            results[index] = result;
            if (Interlocked.Decrement(ref remaining) != 0) return;
            End();
            completion.TrySetResult(results);
            registration.Dispose();
        }

        public void Fail(Exception exception)
        {
            End();
            completion.TrySetException(exception);
            registration.Dispose();
        }

        private void End()
        {
            if (Interlocked.Exchange(ref ended, 1) == 0) finished();
        }
    }
}

/// <summary>How sorted sequences are cut into engine calls.</summary>
internal static class LengthGroups
{
    /// <summary>
    /// How many sequences from <paramref name="start"/> (sorted by length, ascending) go into one engine call: at most
    /// <paramref name="maxCount"/>, and no more than keep padded cells within <paramref name="maxPaddingRatio"/> × real steps.
    /// </summary>
    public static int NextCount(List<ModelBatcher.Pending> sorted, int start, int maxCount, double maxPaddingRatio)
    {
        long real = sorted[start].Sequence.Length;
        var count = 1;
        while (start + count < sorted.Count && count < maxCount)
        {
            long length = sorted[start + count].Sequence.Length;
            if ((count + 1) * length > maxPaddingRatio * (real + length)) break;
            real += length;
            count++;
        }
        return count;
    }
}
