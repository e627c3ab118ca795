using System.IO.Compression;
using RnnService.Training.Storage;

namespace RnnService.Training.Pipeline;

/// <summary>One epoch of a job, as its history records it. <c>Attempt</c> says which claim of the job trained it.</summary>
public sealed record EpochEntry(
    int Epoch, double TrainLoss, double ValidationLoss, double ElapsedSeconds, int Attempt, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// Where training stands after an epoch: what resuming needs besides the tensors. No random state is kept: shuffling
/// and dropout are seeded from the job's seed and the epoch number, so a resumed epoch draws what it would have drawn.
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
}

/// <summary>A job's state after an epoch: progress, current weights and optimizer (to go on), best weights (to register).</summary>
public sealed record Checkpoint(TrainerProgress Progress, byte[] Weights, byte[] Optimizer, byte[] BestWeights);

/// <summary>
/// One checkpoint file per job (a zip: progress JSON, weights, optimizer state, best weights), replaced atomically
/// after every epoch, so that a process killed at any moment leaves the previous complete checkpoint.
/// </summary>
public static class CheckpointFiles
{
    public const string FileName = "checkpoint.zip";

    public static void Save(string directory, Checkpoint checkpoint)
    {
        var path = Path.Combine(directory, FileName);
        FileStore.WriteAtomicallyAsync(path, stream =>
        {
            using (var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
            {
                Add(archive, "progress.json", System.Text.Encoding.UTF8.GetBytes(StoredJson.Write(checkpoint.Progress)));
                Add(archive, "weights.pt", checkpoint.Weights);
                Add(archive, "optimizer.bin", checkpoint.Optimizer);
                Add(archive, "best.pt", checkpoint.BestWeights);
            }
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();
    }

    /// <summary>The job's last complete checkpoint, or null when it has none.</summary>
    public static Checkpoint? TryLoad(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        using var archive = ZipFile.OpenRead(path);
        var progress = StoredJson.Read<TrainerProgress>(System.Text.Encoding.UTF8.GetString(Read(archive, "progress.json")));
        return new Checkpoint(progress, Read(archive, "weights.pt"), Read(archive, "optimizer.bin"), Read(archive, "best.pt"));
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
