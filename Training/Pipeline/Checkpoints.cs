using System.IO.Compression;
using System.Security.Cryptography;
using RnnService.Training.Storage;

namespace RnnService.Training.Pipeline;

/// <summary>One epoch of a job, as its history records it. <c>Attempt</c> says which claim of the job trained it.</summary>
public sealed record EpochEntry(
    int Epoch, double TrainLoss, double ValidationLoss, double ElapsedSeconds, int Attempt, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// Where training stands after an epoch, or between two batches when the worker was stopped: what resuming needs
/// besides the tensors. No random state is kept: the batch order is seeded from the job's seed and the epoch, dropout
/// from those and the batch's place in the epoch, so a resumed epoch draws what it would have drawn.
/// </summary>
public sealed record TrainerProgress
{
    public int Epoch { get; init; }

    public int BestEpoch { get; init; }

    public double BestValidationLoss { get; init; } = double.MaxValue;

    public int EpochsWithoutImprovement { get; init; }

    /// <summary>Early stopping ended the run: a resumed job registers its model without training further.</summary>
    public bool StoppedEarly { get; init; }

    public double ElapsedSeconds { get; init; }

    public IReadOnlyDictionary<string, double>? BestMetrics { get; init; }

    public IReadOnlyList<EpochEntry> History { get; init; } = [];

    /// <summary>The epoch after <see cref="Epoch"/>, when a shutdown stopped it between batches; null otherwise.</summary>
    public UnfinishedEpoch? Unfinished { get; init; }
}

/// <summary>
/// How far an epoch got before a shutdown stopped it: its first <c>Batches</c> batches were trained, their examples'
/// losses sum to <c>LossSum</c>, and they took <c>ElapsedSeconds</c>.
/// </summary>
public sealed record UnfinishedEpoch(int Epoch, int Batches, double LossSum, double ElapsedSeconds);

/// <summary>
/// A job's state after an epoch or between batches: progress, current weights and optimizer (to go on), best weights
/// (to register).
/// </summary>
public sealed record Checkpoint(TrainerProgress Progress, byte[] Weights, byte[] Optimizer, byte[] BestWeights);

/// <summary>
/// A job's checkpoints (zips: progress JSON, weights, optimizer state, best weights, and the SHA-256 of each in
/// <c>sha256.json</c>). After every epoch, and when a shutdown stops an epoch between batches, the last one becomes
/// <c>checkpoint.previous.zip</c> and the new one is written atomically as <c>checkpoint.zip</c>, so a process killed
/// at any moment leaves a complete checkpoint, and a checkpoint damaged on disk later (truncated, bytes changed) is
/// detected by its checksums and the previous one used.
/// </summary>
public static class CheckpointFiles
{
    public const string FileName = "checkpoint.zip";
    public const string PreviousFileName = "checkpoint.previous.zip";
    private const string Manifest = "sha256.json";

    public static void Save(string directory, Checkpoint checkpoint)
    {
        var path = Path.Combine(directory, FileName);
        var entries = new (string Name, byte[] Content)[]
        {
            ("progress.json", System.Text.Encoding.UTF8.GetBytes(StoredJson.Write(checkpoint.Progress))),
            ("weights.pt", checkpoint.Weights),
            ("optimizer.bin", checkpoint.Optimizer),
            ("best.pt", checkpoint.BestWeights),
        };
        var manifest = entries.ToDictionary(entry => entry.Name, entry => Convert.ToHexStringLower(SHA256.HashData(entry.Content)));
        if (File.Exists(path)) File.Move(path, Path.Combine(directory, PreviousFileName), overwrite: true);
        FileStore.WriteAtomicallyAsync(path, stream =>
        {
            using (var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var (name, content) in entries) Add(archive, name, content);
                Add(archive, Manifest, System.Text.Encoding.UTF8.GetBytes(StoredJson.Write(manifest)));
            }
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();
    }

    /// <summary>
    /// The job's newest checkpoint that is whole, or null when it has none; <paramref name="rejected"/> says which files
    /// were damaged and how.
    /// </summary>
    public static Checkpoint? TryLoad(string directory, out IReadOnlyList<string> rejected)
    {
        var problems = new List<string>();
        rejected = problems;
        foreach (var name in new[] { FileName, PreviousFileName })
        {
            var path = Path.Combine(directory, name);
            if (!File.Exists(path)) continue;
            try
            {
                return Load(path);
            }
            catch (Exception exception) when (exception is InvalidDataException or IOException or System.Text.Json.JsonException)
            {
                problems.Add($"{name}: {exception.Message}");
            }
        }
        return null;
    }

    private static Checkpoint Load(string path)
    {
        using var archive = ZipFile.OpenRead(path);
        var entries = new[] { "progress.json", "weights.pt", "optimizer.bin", "best.pt" }.ToDictionary(name => name, name => Read(archive, name));
        // Checkpoints written before checksums have no manifest; the zip's own CRC-32 is all they have.
        if (archive.GetEntry(Manifest) is not null)
        {
            var manifest = StoredJson.Read<Dictionary<string, string>>(System.Text.Encoding.UTF8.GetString(Read(archive, Manifest)));
            foreach (var (name, content) in entries)
            {
                if (!manifest.TryGetValue(name, out var expected)
                    || !string.Equals(expected, Convert.ToHexStringLower(SHA256.HashData(content)), StringComparison.Ordinal))
                    throw new InvalidDataException($"checkpoint entry {name} does not match its SHA-256");
            }
        }
        var progress = StoredJson.Read<TrainerProgress>(System.Text.Encoding.UTF8.GetString(entries["progress.json"]));
        return new Checkpoint(progress, entries["weights.pt"], entries["optimizer.bin"], entries["best.pt"]);
    }

    private static void Add(ZipArchive archive, string name, byte[] content)
    {
        using var entry = archive.CreateEntry(name, CompressionLevel.NoCompression).Open();
        entry.Write(content);
    }

    private static byte[] Read(ZipArchive archive, string name)
    {
        var entry = archive.GetEntry(name) ?? throw new InvalidDataException($"checkpoint entry {name} is missing");
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
