using RnnService.Training.Torch.StateDicts;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// A tensor over 2^31 bytes goes through the weights file's writer and reader whole: no 32-bit length, offset or
/// buffer on the way (the writer streams from the array, the reader reads a float32 storage straight into its array).
/// </summary>
public sealed class LargeTensorTests : IDisposable
{
    private readonly string path = Path.Combine(Path.GetTempPath(), $"rnnservice-large-{Guid.NewGuid():N}.pt");

    public void Dispose() => File.Delete(path);

    [Fact]
    public void AStateDictTensorOfMoreThan2GiBIsWrittenAndReadBackWhole()
    {
        // 8,400,000 × 64 floats: 2,150,400,000 bytes, past 2^31 = 2,147,483,648.
        const long rows = 8_400_000, columns = 64, count = rows * columns;
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = i % 1_000_003;
        var written = new StateDict([new NamedTensor("embedding.weight", [rows, columns], values), new NamedTensor("head.bias", [2], [1.5f, -2.5f])]);

        using (var file = File.Create(path)) StateDictWriter.Write(file, written);
        StateDict read;
        using (var file = File.OpenRead(path)) read = StateDictReader.Read(file, maxBytes: long.MaxValue);

        Assert.True(new FileInfo(path).Length > count * 4);
        var tensor = read["embedding.weight"];
        Assert.Equal(new[] { rows, columns }, tensor.Shape);
        Assert.Equal(count, tensor.Values.LongLength);
        // Around the 2^31-byte mark (float 2^29) and at both ends, where a 32-bit offset would go wrong.
        foreach (var i in new[] { 0L, 1L, (1L << 29) - 1, 1L << 29, (1L << 29) + 1, count - 1 })
            Assert.Equal(i % 1_000_003, tensor.Values[i]);
        Assert.True(values.AsSpan().SequenceEqual(tensor.Values));
        Assert.Equal(new[] { 1.5f, -2.5f }, read["head.bias"].Values);
    }
}
