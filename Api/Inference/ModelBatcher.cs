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
        // It belongs to no request: it must not carry the first one's trace (or anything else of its context) forever.
        if (options.Enabled)
            using (ExecutionContext.SuppressFlow()) _ = Task.Run(LoopAsync);
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
                $"The model's queue is full ({options.MaxQueuedSequences} sequences waiting at most); retry shortly.", retryAfterSeconds: 1,
                reason: "model_queue_full");
        }
        Interlocked.Increment(ref inFlight);
        var request = new PendingRequest(sequences.Length, () => Interlocked.Decrement(ref inFlight), cancellationToken)
        {
            Trace = Activity.Current?.Context ?? default,
        };
        for (var i = 0; i < sequences.Length; i++)
        {
            if (!queue.Writer.TryWrite(new Pending(request, i, sequences[i], states, Stopwatch.GetTimestamp())))
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
            .Select(i => new Pending(null, i, sequences[i], states, 0)).ToList();
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
            // Requests whose first sequence is in this batch and whose last is not yet: their sequences are being written
            // now, and a batch that stopped short of them would leave the rest to a call of their own.
            HashSet<PendingRequest>? partial = null;  // made only when a request of several sequences is being gathered
            var deadline = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
            while (gathered.Count < options.MaxBatchSequences)
            {
                if (reader.TryRead(out var item))
                {
                    Interlocked.Decrement(ref queued);
                    statistics.RecordQueued(-1);
                    if (item.Index == 0 && item.Request!.Count > 1) (partial ??= []).Add(item.Request);
                    if (item.Index == item.Request!.Count - 1) partial?.Remove(item.Request);
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
                if (gathered.Count == 0 || left <= TimeSpan.Zero || (requests >= Volatile.Read(ref inFlight) && partial is not { Count: > 0 })) break;
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

    /// <summary>
    /// Sorts by length, splits into engine calls, runs them; each item's result or failure goes to its callback. Traced as
    /// one <c>rnnservice.batch</c> span linked to the requests it serves (a batch has many parents), its engine calls its
    /// children.
    /// </summary>
    private void Execute(List<Pending> items, Action<Pending, SequenceResult> done, Action<Pending, Exception> failed)
    {
        using var span = Traced(items);
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

    private Activity? Traced(List<Pending> items)
    {
        if (!Training.Tracing.Source.HasListeners()) return null;
        var links = items.Where(item => item.Request is { Trace.TraceId: var id } && id != default)
            .Select(item => item.Request!).Distinct().Select(request => new ActivityLink(request.Trace)).ToList();
        // A batch run for one request (or unbatched) is that request's child; a shared one starts a trace of its own.
        var parent = links.Count == 1 ? links[0].Context : Activity.Current?.Context ?? default;
        var span = Training.Tracing.Source.StartActivity("rnnservice.batch", ActivityKind.Internal, parent, links: links);
        span?.SetTag("rnnservice.model", model.Name);
        span?.SetTag("rnnservice.model.version", model.Version);
        span?.SetTag("rnnservice.batch.sequences", items.Count);
        span?.SetTag("rnnservice.batch.requests", links.Count);
        // Each request's wait in the queue, as a span of that request's trace, from its arrival to the batch's start.
        var now = DateTime.UtcNow;
        var start = Stopwatch.GetTimestamp();
        foreach (var first in items.Where(item => item.Request is not null && item.Queued != 0).GroupBy(item => item.Request).Select(group => group.First()))
        {
            var waited = Stopwatch.GetElapsedTime(first.Queued, start);
            using var wait = Training.Tracing.Source.StartActivity(
                "rnnservice.batcher.queue", ActivityKind.Internal, first.Request!.Trace, startTime: now - waited);
            wait?.SetEndTime(now);
        }
        return span;
    }

    private void RunChunk(List<Pending> chunk, Action<Pending, SequenceResult> done)
    {
        var spec = model.Model.Spec;
        var batch = spec.HasEmbedding
            ? SequenceBatch.FromTokens(chunk.Select(item => item.Sequence.Tokens!).ToList())
            : SequenceBatch.FromFeatures(chunk.Select(item => item.Sequence.Features!).ToList(), spec.InputSize);
        var states = chunk.Exists(item => item.States);
        var started = Stopwatch.GetTimestamp();
        foreach (var item in chunk)
            if (item.Queued != 0) Telemetry.ServingMetrics.RecordQueueWait(Stopwatch.GetElapsedTime(item.Queued, started));
        statistics.RecordStart();
        ForwardResult result;
        using (var span = Training.Tracing.Source.StartActivity("rnnservice.engine.forward"))
        {
            span?.SetTag("rnnservice.batch.sequences", chunk.Count);
            span?.SetTag("rnnservice.batch.steps", batch.Steps);
            try
            {
                result = model.Model.Forward(batch, returnStates: states);
            }
            finally
            {
                statistics.RecordEnd();
            }
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        long real = batch.Lengths.Sum(), padded = (long)batch.Count * batch.Steps;
        statistics.RecordCall(chunk.Count, real, padded);
        Telemetry.ServingMetrics.RecordEngineCall(model.Name, chunk.Count, padded == 0 ? 0 : 1 - (double)real / padded, elapsed);
        for (var i = 0; i < chunk.Count; i++)
        {
            var item = chunk[i];
            done(item, new SequenceResult(result.Output(i).ToArray(), item.States ? result.StatesOf(i).ToArray() : null));
        }
    }

    /// <summary>One sequence in the queue; <c>Queued</c> is when it went in (a <see cref="Stopwatch"/> timestamp; 0 when run unqueued).</summary>
    internal sealed record Pending(PendingRequest? Request, int Index, PreparedSequence Sequence, bool States, long Queued);

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

        /// <summary>The request's span, the parent of its wait in the queue and a link of its batch.</summary>
        public ActivityContext Trace { get; init; }

        /// <summary>How many sequences the request has.</summary>
        public int Count { get; }

        /// <summary><paramref name="finished"/> runs once, as soon as the request is answered, failed or abandoned.</summary>
        public PendingRequest(int count, Action finished, CancellationToken cancellationToken)
        {
            Count = count;
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
