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

    /// <summary>A tuning job's early stopping ended the run (with <see cref="StoppedEarly"/>).</summary>
    public bool Pruned { get; init; }

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
/// A job's state after an epoch or between batches, in a folder: progress, the current weights and the optimizer (to go
/// on), the best weights (to register).
/// </summary>
public sealed record Checkpoint(TrainerProgress Progress, string Folder)
{
    public string WeightsPath => Path.Combine(Folder, CheckpointFiles.WeightsPart);

    public string OptimizerPath => Path.Combine(Folder, CheckpointFiles.OptimizerPart);

    public string BestWeightsPath => Path.Combine(Folder, CheckpointFiles.BestWeightsPart);
}

/// <summary>How a checkpoint's parts are written: each writer writes its part to the path it is given.</summary>
public sealed record CheckpointWriters(Action<string> Weights, Action<string> Optimizer, Action<string> BestWeights);

/// <summary>
/// A job's checkpoints: a folder of files (progress JSON, weights, optimizer state, best weights, and the SHA-256 of
/// each in <c>sha256.json</c>), each part written straight to its file by whatever holds it (the engine writes the
/// optimizer's state itself), so no copy of a large model is made in memory. After every epoch, and when a shutdown
/// stops an epoch between batches, the new checkpoint is written in a fresh folder, the last one becomes
/// <c>checkpoint.previous</c>, and the new folder is renamed <c>checkpoint</c>: a process killed at any moment leaves a
/// complete checkpoint, and one damaged on disk later (truncated, bytes changed) is detected by its checksums and the
/// previous one used. Checkpoints of earlier versions (<c>checkpoint.zip</c>) are still read.
/// </summary>
public static class CheckpointFiles
{
    public const string FolderName = "checkpoint";
    public const string PreviousFolderName = "checkpoint.previous";
    public const string ProgressPart = "progress.json";
    public const string WeightsPart = "weights.pt";
    public const string OptimizerPart = "optimizer.pt";
    public const string BestWeightsPart = "best.pt";
    private const string Manifest = "sha256.json";

    /// <summary>The zip files of earlier versions; the optimizer was its entry <c>optimizer.bin</c>.</summary>
    public const string LegacyFileName = "checkpoint.zip";
    public const string LegacyPreviousFileName = "checkpoint.previous.zip";
    private const string LegacyOptimizerPart = "optimizer.bin";

    private static readonly string[] Parts = [ProgressPart, WeightsPart, OptimizerPart, BestWeightsPart];

    public static void Save(string directory, TrainerProgress progress, CheckpointWriters writers)
    {
        Directory.CreateDirectory(directory);
        foreach (var stale in Directory.EnumerateDirectories(directory, FolderName + ".*.tmp")) Directory.Delete(stale, recursive: true);
        var folder = Path.Combine(directory, $"{FolderName}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ProgressPart), StoredJson.Write(progress));
        writers.Weights(Path.Combine(folder, WeightsPart));
        writers.Optimizer(Path.Combine(folder, OptimizerPart));
        writers.BestWeights(Path.Combine(folder, BestWeightsPart));
        var manifest = Parts.ToDictionary(part => part, part => HashAndFlush(Path.Combine(folder, part)));
        File.WriteAllText(Path.Combine(folder, Manifest), StoredJson.Write(manifest));
        HashAndFlush(Path.Combine(folder, Manifest));

        var current = Path.Combine(directory, FolderName);
        var previous = Path.Combine(directory, PreviousFolderName);
        if (Directory.Exists(current))
        {
            if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
            Directory.Move(current, previous);
        }
        Directory.Move(folder, current);
        // What earlier versions wrote is older than this.
        foreach (var legacy in new[] { LegacyFileName, LegacyPreviousFileName }) File.Delete(Path.Combine(directory, legacy));
    }

    /// <summary>
    /// The job's newest checkpoint that is whole, or null when it has none; <paramref name="rejected"/> says which were
    /// damaged and how.
    /// </summary>
    public static Checkpoint? TryLoad(string directory, out IReadOnlyList<string> rejected)
    {
        var problems = new List<string>();
        rejected = problems;
        foreach (var name in new[] { FolderName, PreviousFolderName })
        {
            var folder = Path.Combine(directory, name);
            if (!Directory.Exists(folder)) continue;
            try
            {
                return Load(folder);
            }
            catch (Exception exception) when (exception is InvalidDataException or IOException or System.Text.Json.JsonException)
            {
                problems.Add($"{name}: {exception.Message}");
            }
        }
        foreach (var name in new[] { LegacyFileName, LegacyPreviousFileName })
        {
            var path = Path.Combine(directory, name);
            if (!File.Exists(path)) continue;
            try
            {
                return LoadLegacy(path, Path.Combine(directory, Path.GetFileNameWithoutExtension(name) + ".unpacked"));
            }
            catch (Exception exception) when (exception is InvalidDataException or IOException or System.Text.Json.JsonException)
            {
                problems.Add($"{name}: {exception.Message}");
            }
        }
        return null;
    }

    private static Checkpoint Load(string folder)
    {
        var manifestPath = Path.Combine(folder, Manifest);
        if (!File.Exists(manifestPath)) throw new InvalidDataException($"{Manifest} is missing");
        var manifest = StoredJson.Read<Dictionary<string, string>>(File.ReadAllText(manifestPath));
        foreach (var part in Parts)
        {
            var path = Path.Combine(folder, part);
            if (!File.Exists(path)) throw new InvalidDataException($"checkpoint part {part} is missing");
            if (!manifest.TryGetValue(part, out var expected) || !string.Equals(expected, Hash(path), StringComparison.Ordinal))
                throw new InvalidDataException($"checkpoint part {part} does not match its SHA-256");
        }
        return new Checkpoint(StoredJson.Read<TrainerProgress>(File.ReadAllText(Path.Combine(folder, ProgressPart))), folder);
    }

    /// <summary>An earlier version's zip, checked as it was (its manifest, or only the zip's CRC-32 before there was one) and unpacked.</summary>
    private static Checkpoint LoadLegacy(string path, string folder)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        using var archive = ZipFile.OpenRead(path);
        var names = new Dictionary<string, string>
        {
            [ProgressPart] = ProgressPart, [WeightsPart] = WeightsPart, [LegacyOptimizerPart] = OptimizerPart, [BestWeightsPart] = BestWeightsPart,
        };
        foreach (var (entry, part) in names)
        {
            var source = archive.GetEntry(entry) ?? throw new InvalidDataException($"checkpoint entry {entry} is missing");
            using var input = source.Open();
            using var output = File.Create(Path.Combine(folder, part));
            input.CopyTo(output);
        }
        if (archive.GetEntry(Manifest) is { } manifestEntry)
        {
            using var reader = new StreamReader(manifestEntry.Open());
            var manifest = StoredJson.Read<Dictionary<string, string>>(reader.ReadToEnd());
            foreach (var (entry, part) in names)
            {
                if (!manifest.TryGetValue(entry, out var expected) || !string.Equals(expected, Hash(Path.Combine(folder, part)), StringComparison.Ordinal))
                    throw new InvalidDataException($"checkpoint entry {entry} does not match its SHA-256");
            }
        }
        return new Checkpoint(StoredJson.Read<TrainerProgress>(File.ReadAllText(Path.Combine(folder, ProgressPart))), folder);
    }

    private static string Hash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>The file's SHA-256, read back once it is written, and the file flushed to the disk.</summary>
    private static string HashAndFlush(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        stream.Flush(flushToDisk: true);
        return hash;
    }
}
