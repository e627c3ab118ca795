using Microsoft.Extensions.Options;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Training.Engine;
using RnnService.Training.Storage;
using RnnService.Training.Tasks;
using RnnService.Training.Torch;

namespace RnnService.Api.Inference;

/// <summary>
/// A model version loaded for serving: the network, its preprocessing and its batcher. Requests hold leases on it; once
/// the cache lets it go it takes no new requests, and the network is freed when the last lease ends.
/// </summary>
public sealed class LoadedModel
{
    private readonly Lock gate = new();
    private int leases;
    private bool retired;
    private bool disposed;

    internal LoadedModel(
        ModelVersionRecord record, ISequenceNetwork model, ServedTask task, BatchingOptions batching, int concurrentBatches, InferenceStatistics statistics)
    {
        Id = record.Id;
        Name = record.Name;
        Version = record.Version;
        Model = model;
        Task = task;
        Bytes = model.ParameterCount * sizeof(float);
        ConcurrentBatches = concurrentBatches;
        Batcher = new ModelBatcher(this, batching, concurrentBatches, statistics);
    }

    /// <summary>Engine calls of this model that may run at once (what a request's memory estimate counts).</summary>
    public int ConcurrentBatches { get; }

    /// <summary>The version record's id: unique for ever, unlike a (name, version) pair whose number a delete frees.</summary>
    public string Id { get; }

    public string Name { get; }

    public int Version { get; }

    public ISequenceNetwork Model { get; }

    /// <summary>The version's task: its preprocessing applied to requests, its outputs mapped back.</summary>
    public ServedTask Task { get; }

    public ModelBatcher Batcher { get; }

    /// <summary>What the cache counts against its byte limit: the float32 weights.</summary>
    public long Bytes { get; }

    /// <summary>A lease for a request; false once the cache has let the model go.</summary>
    internal bool TryAcquire()
    {
        lock (gate)
        {
            if (retired) return false;
            leases++;
            return true;
        }
    }

    /// <summary>A lease for a batch already queued: allowed after retirement, until the network is freed.</summary>
    internal bool TryAcquireForBatch()
    {
        lock (gate)
        {
            if (disposed) return false;
            leases++;
            return true;
        }
    }

    internal void Release()
    {
        lock (gate)
        {
            leases--;
            FreeIfUnused();
        }
    }

    internal void Retire()
    {
        Batcher.Complete();
        lock (gate)
        {
            retired = true;
            FreeIfUnused();
        }
    }

    private void FreeIfUnused()
    {
        if (!retired || leases > 0 || disposed) return;
        disposed = true;
        Model.Dispose();
    }
}

/// <summary>A request's hold on a loaded model.</summary>
public readonly struct ModelLease(LoadedModel model) : IDisposable
{
    public LoadedModel Model { get; } = model;

    public void Dispose() => Model.Release();
}

public sealed record CacheStatistics(long Loads, long Hits, long Evictions, int Models, long Bytes);

/// <summary>
/// Loaded model versions, bounded by count and bytes, least recently used out first. Concurrent requests for a version
/// that is not loaded yet share one load.
/// </summary>
public sealed class ModelCache(
    IOptions<InferenceOptions> options, FileStore files, EngineInfo engine, ISequenceEngine networks, InferenceDevice device,
    InferenceStatistics statistics, ILogger<ModelCache> logger)
    : IDisposable
{
    /// <summary>Engine calls one model may run at once: as configured, else one per group of intra-op threads, or two on a GPU.</summary>
    private readonly int concurrentBatches = options.Value.Batching.MaxConcurrentBatches is > 0 and var configured
        ? configured
        : device.Device.Kind == DeviceKind.Cuda
            ? 2
            : Math.Max(1, Environment.ProcessorCount / Math.Max(1, engine.IntraOpThreads));

    private readonly Lock gate = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> recency = new(); // most recently used first
    private long loads, hits, evictions;

    public CacheStatistics Statistics
    {
        get
        {
            lock (gate)
            {
                var loaded = recency.Where(e => e.Loading.IsCompletedSuccessfully).Select(e => e.Loading.Result).ToList();
                return new CacheStatistics(loads, hits, evictions, loaded.Count, loaded.Sum(m => m.Bytes));
            }
        }
    }

    /// <summary>The loaded version, loading it first if needed; dispose the lease when the request is done with it.</summary>
    public async Task<ModelLease> AcquireAsync(ModelVersionRecord record, CancellationToken cancellationToken)
    {
        while (true)
        {
            LinkedListNode<Entry> node;
            var created = false;
            lock (gate)
            {
                if (entries.TryGetValue(record.Id, out var found))
                {
                    node = found;
                    recency.Remove(node);
                    recency.AddFirst(node);
                    hits++;
                }
                else
                {
                    node = recency.AddFirst(new Entry(record.Id, Task.Run(() => Load(record))));
                    entries.Add(record.Id, node);
                    loads++;
                    created = true;
                }
            }

            LoadedModel model;
            try
            {
                // The load goes on for others even if this request goes away.
                model = await node.Value.Loading.WaitAsync(cancellationToken);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                lock (gate)
                {
                    if (entries.TryGetValue(record.Id, out var current) && current == node) Remove(node);
                }
                throw;
            }
            if (created) Trim(node);
            if (model.TryAcquire()) return new ModelLease(model);
        }
    }

    /// <summary>Unloads a version (it was deleted); requests holding it finish first.</summary>
    public void Evict(string id)
    {
        lock (gate)
        {
            if (entries.TryGetValue(id, out var node)) Remove(node);
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            while (recency.First is { } node) Remove(node);
        }
    }

    private LoadedModel Load(ModelVersionRecord record)
    {
        var spec = StoredJson.Read<ModelSpec>(record.Spec);
        var task = StoredJson.Read<TaskOptions>(record.Task);
        var served = TaskKinds.For(task.Kind ?? throw new InvalidOperationException($"model version {record.Id} has no task kind"))
            .Serve(spec, task, record.Preprocessing);
        ISequenceNetwork network;
        using (var weights = File.OpenRead(files.WeightsPath(record.WeightsFile)))
        {
            network = networks.Load(spec, weights, device.Device);
        }
        try
        {
            // One tiny forward pass, so that the first request does not pay for libtorch's lazy set-up.
            network.Forward(spec.HasEmbedding ? SequenceBatch.FromTokens([[1L]]) : SequenceBatch.FromFeatures([new float[spec.InputSize]], spec.InputSize));
        }
        catch
        {
            network.Dispose();
            throw;
        }
        logger.LogInformation("Loaded model {Name} version {Version} ({Parameters} parameters) on {Device}",
            record.Name, record.Version, network.ParameterCount, device.Device);
        return new LoadedModel(record, network, served, options.Value.Batching, concurrentBatches, statistics);
    }

    /// <summary>Lets the least recently used versions go until the cache is within its bounds; never the one just loaded.</summary>
    private void Trim(LinkedListNode<Entry> keep)
    {
        var limits = options.Value;
        lock (gate)
        {
            while (true)
            {
                var bytes = recency.Where(e => e.Loading.IsCompletedSuccessfully).Sum(e => e.Loading.Result.Bytes);
                if (recency.Count <= limits.CacheMaxModels && bytes <= limits.CacheMaxBytes) return;
                var victim = recency.Last;
                while (victim is not null && (victim == keep || !victim.Value.Loading.IsCompleted)) victim = victim.Previous;
                if (victim is null) return;
                Remove(victim);
                evictions++;
            }
        }
    }

    /// <summary>Takes an entry out; its model retires now if loaded, or when its load finishes.</summary>
    private void Remove(LinkedListNode<Entry> node)
    {
        entries.Remove(node.Value.Id);
        recency.Remove(node);
        node.Value.Loading.ContinueWith(
            loading =>
            {
                if (loading.IsCompletedSuccessfully)
                {
                    logger.LogInformation("Unloaded model {Name} version {Version}", loading.Result.Name, loading.Result.Version);
                    loading.Result.Retire();
                }
            },
            TaskScheduler.Default);
    }

    private sealed record Entry(string Id, Task<LoadedModel> Loading);
}
