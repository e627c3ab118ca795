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
        CheckpointFiles.Save(directory, Epoch(1));
        CheckpointFiles.Save(directory, Epoch(2));

        var loaded = CheckpointFiles.TryLoad(directory, out var rejected);

        Assert.Equal(2, loaded!.Progress.Epoch);
        Assert.Equal(Epoch(2).Weights, loaded.Weights);
        Assert.Empty(rejected);
        Assert.True(File.Exists(Path.Combine(directory, CheckpointFiles.PreviousFileName)));
    }

    [Fact]
    public void ATruncatedCheckpointIsRejectedAndThePreviousOneUsed()
    {
        CheckpointFiles.Save(directory, Epoch(1));
        CheckpointFiles.Save(directory, Epoch(2));
        var path = Path.Combine(directory, CheckpointFiles.FileName);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^200]);

        var loaded = CheckpointFiles.TryLoad(directory, out var rejected);

        Assert.Equal(1, loaded!.Progress.Epoch);
        Assert.Equal(Epoch(1).Optimizer, loaded.Optimizer);
        Assert.StartsWith(CheckpointFiles.FileName, Assert.Single(rejected));
    }

    [Theory]
    [InlineData("weights.pt")]
    [InlineData("optimizer.bin")]
    [InlineData("best.pt")]
    [InlineData("progress.json")]
    public void AChangedPartInAWholeZipFailsItsChecksum(string part)
    {
        CheckpointFiles.Save(directory, Epoch(1));
        CheckpointFiles.Save(directory, Epoch(2));
        // A valid zip whose part no longer matches the manifest (bit rot that the zip's own CRC would not see once rewritten).
        using (var archive = ZipFile.Open(Path.Combine(directory, CheckpointFiles.FileName), ZipArchiveMode.Update))
        {
            var entry = archive.GetEntry(part)!;
            byte[] content;
            using (var stream = entry.Open())
            {
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                content = buffer.ToArray();
            }
            content[content.Length / 2] ^= 0x01;
            entry.Delete();
            using var replaced = archive.CreateEntry(part).Open();
            replaced.Write(content);
        }

        var loaded = CheckpointFiles.TryLoad(directory, out var rejected);

        Assert.Equal(1, loaded!.Progress.Epoch);
        Assert.Contains($"{part} does not match its SHA-256", Assert.Single(rejected));
    }

    [Fact]
    public void WhenBothAreDamagedTheJobStartsOverAndBothAreNamed()
    {
        CheckpointFiles.Save(directory, Epoch(1));
        CheckpointFiles.Save(directory, Epoch(2));
        File.WriteAllBytes(Path.Combine(directory, CheckpointFiles.FileName), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(directory, CheckpointFiles.PreviousFileName), []);

        Assert.Null(CheckpointFiles.TryLoad(directory, out var rejected));
        Assert.Equal(2, rejected.Count);
    }

    [Fact]
    public void ACheckpointFromBeforeChecksumsStillLoads()
    {
        using (var archive = ZipFile.Open(Path.Combine(directory, CheckpointFiles.FileName), ZipArchiveMode.Create))
        {
            var checkpoint = Epoch(3);
            Write(archive, "progress.json", System.Text.Encoding.UTF8.GetBytes(StoredJson.Write(checkpoint.Progress)));
            Write(archive, "weights.pt", checkpoint.Weights);
            Write(archive, "optimizer.bin", checkpoint.Optimizer);
            Write(archive, "best.pt", checkpoint.BestWeights);
        }

        Assert.Equal(3, CheckpointFiles.TryLoad(directory, out _)!.Progress.Epoch);
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

    private static Checkpoint Epoch(int epoch) => new(
        new TrainerProgress { Epoch = epoch, BestEpoch = epoch },
        Enumerable.Range(0, 4096).Select(i => (byte)(i * epoch)).ToArray(),
        Enumerable.Range(0, 512).Select(i => (byte)(i + epoch)).ToArray(),
        Enumerable.Range(0, 4096).Select(i => (byte)(i ^ epoch)).ToArray());

    private static void Write(ZipArchive archive, string name, byte[] content)
    {
        using var stream = archive.CreateEntry(name).Open();
        stream.Write(content);
    }
}
