using System.IO.Compression;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;

namespace RnnService.Api.Tests.Storage;

/// <summary>
/// Checkpoints carry the SHA-256 of each part; a damaged one (truncated, bytes changed, a part missing) is detected
/// and the previous one used; store names cannot leave their folder.
/// </summary>
public sealed class CheckpointFileTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("rnnservice-checkpoints-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void TheNewestCheckpointLoadsWithNothingRejected()
    {
        Save(1);
        Save(2);

        var loaded = CheckpointFiles.TryLoad(directory, out var rejected);

        Assert.Equal(2, loaded!.Progress.Epoch);
        Assert.Equal(Part(2, CheckpointFiles.WeightsPart), File.ReadAllBytes(loaded.WeightsPath));
        Assert.Equal(Part(2, CheckpointFiles.OptimizerPart), File.ReadAllBytes(loaded.OptimizerPath));
        Assert.Equal(Part(2, CheckpointFiles.BestWeightsPart), File.ReadAllBytes(loaded.BestWeightsPath));
        Assert.Empty(rejected);
        Assert.True(Directory.Exists(Path.Combine(directory, CheckpointFiles.PreviousFolderName)));
        // Nothing else is left behind: no temporary folder, no third checkpoint.
        Assert.Equal([CheckpointFiles.FolderName, CheckpointFiles.PreviousFolderName],
            Directory.GetDirectories(directory).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void ATruncatedPartIsRejectedAndThePreviousCheckpointUsed()
    {
        Save(1);
        Save(2);
        var path = Path.Combine(directory, CheckpointFiles.FolderName, CheckpointFiles.OptimizerPart);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^200]);

        var loaded = CheckpointFiles.TryLoad(directory, out var rejected);

        Assert.Equal(1, loaded!.Progress.Epoch);
        Assert.Equal(Part(1, CheckpointFiles.OptimizerPart), File.ReadAllBytes(loaded.OptimizerPath));
        Assert.Equal($"{CheckpointFiles.FolderName}: checkpoint part {CheckpointFiles.OptimizerPart} does not match its SHA-256", Assert.Single(rejected));
    }

    [Theory]
    [InlineData(CheckpointFiles.WeightsPart)]
    [InlineData(CheckpointFiles.OptimizerPart)]
    [InlineData(CheckpointFiles.BestWeightsPart)]
    [InlineData(CheckpointFiles.ProgressPart)]
    public void AChangedByteInAnyPartFailsItsChecksum(string part)
    {
        Save(1);
        Save(2);
        var path = Path.Combine(directory, CheckpointFiles.FolderName, part);
        var content = File.ReadAllBytes(path);
        content[content.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, content);

        var loaded = CheckpointFiles.TryLoad(directory, out var rejected);

        Assert.Equal(1, loaded!.Progress.Epoch);
        Assert.Contains($"{part} does not match its SHA-256", Assert.Single(rejected));
    }

    [Fact]
    public void AMissingPartOrManifestIsRejected()
    {
        Save(1);
        Save(2);
        File.Delete(Path.Combine(directory, CheckpointFiles.FolderName, CheckpointFiles.BestWeightsPart));
        File.Delete(Path.Combine(directory, CheckpointFiles.PreviousFolderName, "sha256.json"));

        Assert.Null(CheckpointFiles.TryLoad(directory, out var rejected));
        Assert.Equal(
            [$"{CheckpointFiles.FolderName}: checkpoint part {CheckpointFiles.BestWeightsPart} is missing", $"{CheckpointFiles.PreviousFolderName}: sha256.json is missing"],
            rejected);
    }

    [Fact]
    public void AKillWhileTheNewCheckpointWasBeingWrittenLeavesTheLastOneWhole()
    {
        Save(1);
        Save(2);
        // What a kill during the next save leaves: a half-written folder beside the two whole ones.
        var half = Directory.CreateDirectory(Path.Combine(directory, $"{CheckpointFiles.FolderName}.0123.tmp")).FullName;
        File.WriteAllBytes(Path.Combine(half, CheckpointFiles.WeightsPart), [1, 2, 3]);

        Assert.Equal(2, CheckpointFiles.TryLoad(directory, out _)!.Progress.Epoch);
        Save(3);
        Assert.False(Directory.Exists(half));
        Assert.Equal(3, CheckpointFiles.TryLoad(directory, out _)!.Progress.Epoch);
    }

    [Fact]
    public void AZipCheckpointOfAnEarlierVersionStillLoadsAndTheNextSaveReplacesIt()
    {
        WriteLegacy(CheckpointFiles.LegacyFileName, 3, withManifest: true);
        WriteLegacy(CheckpointFiles.LegacyPreviousFileName, 2, withManifest: false);

        var loaded = CheckpointFiles.TryLoad(directory, out var rejected);

        Assert.Equal(3, loaded!.Progress.Epoch);
        Assert.Empty(rejected);
        Assert.Equal(Part(3, "optimizer.bin"), File.ReadAllBytes(loaded.OptimizerPath));
        Assert.Equal(Part(3, CheckpointFiles.BestWeightsPart), File.ReadAllBytes(loaded.BestWeightsPath));

        Save(4);
        Assert.False(File.Exists(Path.Combine(directory, CheckpointFiles.LegacyFileName)));
        Assert.False(File.Exists(Path.Combine(directory, CheckpointFiles.LegacyPreviousFileName)));
        Assert.Equal(4, CheckpointFiles.TryLoad(directory, out _)!.Progress.Epoch);
    }

    [Fact]
    public void ADamagedZipOfAnEarlierVersionFallsBackToItsPrevious()
    {
        WriteLegacy(CheckpointFiles.LegacyFileName, 3, withManifest: true, damage: true);
        WriteLegacy(CheckpointFiles.LegacyPreviousFileName, 2, withManifest: true);

        var loaded = CheckpointFiles.TryLoad(directory, out var rejected);

        Assert.Equal(2, loaded!.Progress.Epoch);
        Assert.Contains("does not match its SHA-256", Assert.Single(rejected));
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    [InlineData("../models")]
    [InlineData("a/b")]
    [InlineData("/etc/passwd")]
    [InlineData("..\\x")]
    [InlineData("%2e%2e")]
    [InlineData("job\0x")]
    public void AStoreNameThatCouldLeaveItsFolderIsRefused(string name)
    {
        Assert.False(FileStore.IsSafeName(name));
        Assert.Throws<ArgumentException>(() => FileStore.Inside(directory, name));
    }

    [Fact]
    public void AGeneratedIdStaysInItsFolder()
    {
        Assert.Equal(Path.Combine(directory, "job_0123abc.ckpt"), FileStore.Inside(directory, "job_0123abc.ckpt"));
    }

    /// <summary>Bytes that differ by epoch and part, standing in for what the engine and the writer put there.</summary>
    private static byte[] Part(int epoch, string part) =>
        Enumerable.Range(0, 4096 + part.Length).Select(i => (byte)(i * epoch + part[i % part.Length])).ToArray();

    private void Save(int epoch) => CheckpointFiles.Save(directory, new TrainerProgress { Epoch = epoch, BestEpoch = epoch }, new CheckpointWriters(
        path => File.WriteAllBytes(path, Part(epoch, CheckpointFiles.WeightsPart)),
        path => File.WriteAllBytes(path, Part(epoch, CheckpointFiles.OptimizerPart)),
        path => File.WriteAllBytes(path, Part(epoch, CheckpointFiles.BestWeightsPart))));

    /// <summary>A zip as earlier versions wrote it: the optimizer as optimizer.bin, and (once they had them) the SHA-256 of each entry.</summary>
    private void WriteLegacy(string name, int epoch, bool withManifest, bool damage = false)
    {
        var entries = new Dictionary<string, byte[]>
        {
            ["progress.json"] = System.Text.Encoding.UTF8.GetBytes(StoredJson.Write(new TrainerProgress { Epoch = epoch })),
            ["weights.pt"] = Part(epoch, CheckpointFiles.WeightsPart),
            ["optimizer.bin"] = Part(epoch, "optimizer.bin"),
            ["best.pt"] = Part(epoch, CheckpointFiles.BestWeightsPart),
        };
        using var archive = ZipFile.Open(Path.Combine(directory, name), ZipArchiveMode.Create);
        foreach (var (entry, content) in entries)
        {
            var written = damage && entry == "best.pt" ? content.Reverse().ToArray() : content;
            using var stream = archive.CreateEntry(entry).Open();
            stream.Write(written);
        }
        if (!withManifest) return;
        var manifest = entries.ToDictionary(entry => entry.Key, entry => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(entry.Value)));
        using var manifestStream = archive.CreateEntry("sha256.json").Open();
        manifestStream.Write(System.Text.Encoding.UTF8.GetBytes(StoredJson.Write(manifest)));
    }
}
