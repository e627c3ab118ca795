using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Budgets;
using RnnService.Domain.Models;
using RnnService.Training.Torch;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// Sizes are counted in 64 bits everywhere, on both sides of the C ABI, and a size that does not fit is refused, never
/// wrapped around: parameter counts and estimates past 2^31, shapes and strides in a weights file whose products
/// overflow, the shim's own products, and an allocation the machine cannot make.
/// </summary>
public sealed class SizeLimitTests
{
    [Theory]
    [InlineData(CellKind.Lstm, 3, 16, 1, false, 0, 2)]
    [InlineData(CellKind.Gru, 8, 32, 2, true, 0, 5)]
    [InlineData(CellKind.Rnn, 1, 7, 3, true, 0, 1)]
    [InlineData(CellKind.Lstm, 12, 24, 2, true, 500, 3)]
    [InlineData(CellKind.Gru, 6, 10, 1, false, 50, 4)]
    public void TheCountFromTheSpecAloneIsTheEnginesCount(CellKind cell, int input, int hidden, int layers, bool bidirectional, int vocabulary, int outputs)
    {
        var spec = new ModelSpec
        {
            Cell = cell, InputSize = input, HiddenSize = hidden, NumLayers = layers, Bidirectional = bidirectional,
            VocabularySize = vocabulary, OutputSize = outputs,
        };
        using var model = SequenceModel.Create(spec);

        Assert.Equal(model.ParameterCount, spec.CountParameters());
        Assert.Equal(model.Parameters.Max(p => p.ElementCount), EngineMemory.LargestTensor(spec));
    }

    [Fact]
    public void ACountFarPastTwoToThe31IsExactAndRefusedForOneBuffer()
    {
        var spec = new ModelSpec
        {
            Cell = CellKind.Lstm, InputSize = 65_536, VocabularySize = 10_000_000, HiddenSize = 65_536, NumLayers = 16,
            Bidirectional = true, OutputSize = 65_536,
        };

        // embedding 655,360,000,000 + layer 0: 2 × (4·65,536·(65,536 + 65,536) + 8·65,536) + 15 layers of
        // 2 × (4·65,536·(131,072 + 65,536) + 8·65,536) + head 65,536 × 131,072 + 65,536.
        Assert.Equal(2_278_874_480_640, spec.CountParameters());
        var error = Assert.Single(spec.Validate());
        Assert.Equal(("hiddenSize", "gives 2,278,874,480,640 parameters; one model may have at most 2,147,483,591."), (error.Field, error.Message));
    }

    [Fact]
    public void SizesSaturateInsteadOfWrapping()
    {
        Assert.Equal(2_400_000_000, Sizes.Product(4, 600_000_000));
        Assert.Equal(long.MaxValue, Sizes.Product(1L << 40, 1L << 40));
        Assert.Equal(long.MaxValue, Sizes.Sum(long.MaxValue - 1, 2));
        Assert.Equal(long.MaxValue, Sizes.Scale(1L << 62, 2.5));
        Assert.Equal("2.24 GiB", Sizes.Bytes(2_400_000_000));
        Assert.Equal("8.00 EiB", Sizes.Bytes(long.MaxValue));
        Assert.Equal("1.6 billion", Sizes.Count(1_600_480_012));
    }

    [Fact]
    public void TheEstimateOfA6GiBModelIsExactPastTwoToThe31Bytes()
    {
        var spec = new ModelSpec { Cell = CellKind.Lstm, InputSize = 1, HiddenSize = 20_000, OutputSize = 12 };
        var shape = new TrainingShape(BatchSize: 32, Steps: 24, BytesPerStep: 4, TrainingExamples: 100, ValidationExamples: 20, DataBytes: 0, LoadingBytes: 0);

        var estimate = TrainingEstimate.For(spec, shape);

        Assert.Equal(1_600_480_012, estimate.ParameterCount);
        // 16 bytes a parameter, and Adam's temporary for weight_hh (80,000 × 20,000 floats).
        Assert.Equal(16 * 1_600_480_012L + 4 * 80_000L * 20_000, estimate.ModelBytes);
        Assert.Equal(8 * 1_600_480_012L, estimate.WeightCopiesBytes);
        Assert.True(estimate.PeakBytes > 3 * (1L << 31));
    }

    [Theory]
    // A 2^40 × 2^40 shape: its size does not fit in 64 bits.
    [InlineData("[2**40, 2**40]", "[1, 1]", "'huge' has a shape whose size does not fit in 64 bits")]
    // Strides whose reach wraps around 2^63 back to a small (or negative) number would have passed the storage check.
    [InlineData("[2, 2]", "[2**62, 2**62]", "'huge' reaches past the end of its storage")]
    // A shape of 3 × 2^30 floats: 12 GiB, more than one tensor may hold, refused before any allocation.
    [InlineData("[3, 2**30]", "[0, 0]", "'huge' holds 3,221,225,472 values; one tensor may hold at most 2,147,483,591")]
    public void AWeightsFileWhoseShapesOverflowIsRefusedBeforeAnythingIsAllocated(string shape, string strides, string message)
    {
        var path = CraftedWeights.Pickled(shape, strides);
        try
        {
            using var file = File.OpenRead(path);
            var error = Assert.Throws<StateDictFormatException>(() => StateDictReader.Read(file));
            Assert.Equal(message, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AViewOver2GiBIsCountedBeforeItIsRead()
    {
        var path = CraftedWeights.Pickled("[600000000]", "[0]");
        try
        {
            using var file = File.OpenRead(path);
            var error = Assert.Throws<StateDictTooLargeException>(() => StateDictReader.Read(file, maxElements: 100_000_000));
            Assert.Equal(600_000_000, error.Elements);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TheShimRefusesASpecWhoseSizesOverflow64Bits()
    {
        // 2^40 hidden units: weight_hh alone would be 4 × 2^80 values. The C# spec cannot say this; the C ABI can.
        var spec = new NativeModelSpec { Cell = 0, InputSize = 1, HiddenSize = 1L << 40, NumLayers = 1, OutputSize = 1 };

        var (error, model) = Create(spec);
        Assert.Equal(EngineErrorKind.InvalidArgument, error.Kind);
        Assert.True(model.IsInvalid);
        Assert.Equal("weight_hh's size does not fit in 64 bits (4398046511104 × 1099511627776)", error.Message);
    }

    [Fact]
    public void AnAllocationTheMachineCannotMakeIsOurMessageAndTheEngineGoesOn()
    {
        // 2^20 hidden units: weight_hh is 2^42 floats, 16 TiB, which no machine here can give.
        var spec = new NativeModelSpec { Cell = 0, InputSize = 1, HiddenSize = 1L << 20, NumLayers = 1, OutputSize = 1 };

        var (error, model) = Create(spec);
        Assert.Equal(EngineErrorKind.OutOfMemory, error.Kind);
        Assert.True(model.IsInvalid);
        Assert.Equal("the engine could not allocate 17592186044416 bytes for the model's weights: the machine has too little memory free", error.Message);
        using var small = SequenceModel.Create(new ModelSpec { Cell = CellKind.Lstm, InputSize = 1, HiddenSize = 4, OutputSize = 1 });
        Assert.Equal(4 * 4 * (1 + 4) + 2 * 16 + 4 + 1, small.ParameterCount);
    }

    /// <summary>The shim's C ABI called directly with the bindings' own spec struct, as any client of rnnshim.h would.</summary>
    private static (TorchEngineException Error, ModelHandle Model) Create(NativeModelSpec spec)
    {
        var status = NativeMethods.rnn_model_create(spec, -1, 1, out var model);
        var error = Assert.Throws<TorchEngineException>(() => TorchEngineException.Check(status));
        return (error, model);
    }
}
