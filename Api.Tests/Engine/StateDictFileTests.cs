using System.IO.Compression;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Models;
using RnnService.Training.Torch;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Api.Tests.Engine;

[Collection(PyTorchCollection.Name)]
public sealed class StateDictFileTests(PyTorchCases pytorch)
{
    private static readonly ModelSpec Spec = new() { Cell = CellKind.Lstm, InputSize = 3, HiddenSize = 5, OutputSize = 2 };

    [Fact]
    public void WeightsWrittenByOurEngineReadBackExactly()
    {
        using var model = SequenceModel.Create(Spec, seed: 4);
        var original = model.GetStateDict();

        var read = StateDictReader.Read(new MemoryStream(Save(model)));

        Assert.Equal(original.Select(t => t.Name), read.Select(t => t.Name));
        foreach (var tensor in original)
        {
            Assert.Equal(tensor.Shape, read[tensor.Name].Shape);
            Assert.Equal(tensor.Values, read[tensor.Name].Values);
        }
    }

    [Fact]
    public void MissingKeysAreAllNamedAndTheModelIsLeftUnchanged()
    {
        using var model = SequenceModel.Create(Spec, seed: 4);
        var before = model.GetStateDict();
        var incomplete = new StateDict(before.Where(t => t.Name is not ("head.bias" or "rnn.bias_hh_l0")));

        var error = Assert.Throws<StateDictMismatchException>(() => model.LoadStateDict(incomplete));

        Assert.Equal(["rnn.bias_hh_l0", "head.bias"], error.Missing);
        Assert.Contains("missing keys: rnn.bias_hh_l0, head.bias", error.Message);
        Assert.Equal(before.SelectMany(t => t.Values), model.GetStateDict().SelectMany(t => t.Values));
    }

    [Fact]
    public void MisshapedAndUnexpectedKeysAreNamedWithBothShapes()
    {
        using var model = SequenceModel.Create(Spec, seed: 4);
        var tensors = model.GetStateDict()
            .Select(t => t.Name == "rnn.weight_ih_l0" ? new NamedTensor(t.Name, [20, 4], new float[80]) : t)
            .Append(new NamedTensor("rnn.weight_ih_l1", [20, 5], new float[100]));

        var error = Assert.Throws<StateDictMismatchException>(() => model.LoadStateDict(new StateDict(tensors)));

        Assert.Equal(["rnn.weight_ih_l1"], error.Unexpected);
        Assert.Equal(["rnn.weight_ih_l0 is [20, 4] in the file, the model expects [20, 3]"], error.Misshaped);
    }

    [Fact]
    public void WeightsOfAnotherArchitectureFromPyTorchAreRejectedListingEveryDifference()
    {
        var gru = pytorch["gru-l2-uni-feat"];
        var lstm = pytorch["lstm-l2-uni-feat"].Spec;
        using var weights = File.OpenRead(gru.WeightsPath);

        var error = Assert.Throws<StateDictMismatchException>(() => SequenceModel.Load(lstm, weights));

        Assert.Empty(error.Missing);
        Assert.Empty(error.Unexpected);
        Assert.Contains("rnn.weight_ih_l0 is [15, 3] in the file, the model expects [20, 3]", error.Misshaped);
        Assert.Equal(8, error.Misshaped.Count);
    }

    [Fact]
    public void Float64WeightsSavedByPyTorchLoadAsFloat32()
    {
        var reference = pytorch["lstm-l1-uni-feat"];
        using var weights = File.OpenRead(Path.Combine(pytorch.Directory, "float64", "lstm-l1-uni-feat.pt"));
        using var model = SequenceModel.Load(reference.Spec, weights);

        var result = model.Forward(reference.Batch());

        for (var i = 0; i < reference.Lengths.Length; i++)
            Tolerance.AssertClose(reference.Outputs[i], result.Output(i), 1e-5, $"outputs[{i}]");
    }

    [Fact]
    public void AFileThatIsNotAZipIsAFormatError()
    {
        var error = Assert.Throws<StateDictFormatException>(() => StateDictReader.Read(new MemoryStream("not weights"u8.ToArray())));

        Assert.StartsWith("not a PyTorch weights file", error.Message);
    }

    [Fact]
    public void ATruncatedFileIsAFormatError()
    {
        using var model = SequenceModel.Create(Spec, seed: 4);
        var bytes = Save(model);

        Assert.Throws<StateDictFormatException>(() => StateDictReader.Read(new MemoryStream(bytes[..(bytes.Length / 2)])));
    }

    [Fact]
    public void APickleThatNamesAnyOtherPythonObjectIsRefusedWithoutRunningIt()
    {
        // os.system("id"): what a malicious "weights" file would do in an unrestricted unpickler
        byte[] pickle = [0x80, 2, .. "cos\nsystem\nX"u8, 2, 0, 0, 0, .. "id"u8, 0x85, (byte)'R', (byte)'.'];

        var error = Assert.Throws<StateDictFormatException>(() => StateDictReader.Read(new MemoryStream(Zip(("archive/data.pkl", pickle)))));

        Assert.Contains("os.system", error.Message);
    }

    [Fact]
    public void AZipWithoutAPickleIsAFormatError()
    {
        var error = Assert.Throws<StateDictFormatException>(() => StateDictReader.Read(new MemoryStream(Zip(("archive/version", "3\n"u8.ToArray())))));

        Assert.Contains("data.pkl", error.Message);
    }

    private static byte[] Save(SequenceModel model)
    {
        using var stream = new MemoryStream();
        model.SaveWeights(stream);
        return stream.ToArray();
    }

    private static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var entry = zip.CreateEntry(name).Open();
                entry.Write(content);
            }
        }

        return stream.ToArray();
    }
}
