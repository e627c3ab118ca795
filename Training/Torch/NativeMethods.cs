using System.Runtime.InteropServices;

namespace RnnService.Training.Torch;

/// <summary>The C ABI of Training/Native/include/rnnshim.h, one declaration per function.</summary>
internal static unsafe partial class NativeMethods
{
    private const string Library = "rnnshim";

    [LibraryImport(Library)]
    internal static partial nint rnn_last_error();

    [LibraryImport(Library)]
    internal static partial int rnn_engine_query(out NativeEngineInfo info);

    [LibraryImport(Library)]
    internal static partial int rnn_engine_set_seed(ulong seed);

    [LibraryImport(Library)]
    internal static partial int rnn_engine_set_threads(int intraOpThreads);

    [LibraryImport(Library)]
    internal static partial int rnn_engine_set_flush_denormal(int on);

    [LibraryImport(Library)]
    internal static partial int rnn_engine_set_allow_tf32(int on);

    [LibraryImport(Library)]
    internal static partial int rnn_engine_set_onednn(int on);

    [LibraryImport(Library)]
    internal static partial int rnn_engine_keep_freed_memory(long mmapThreshold, long trimThreshold);

    [LibraryImport(Library)]
    internal static partial int rnn_engine_release_free_memory();

    [LibraryImport(Library)]
    internal static partial int rnn_model_set_sequence_path(ModelHandle model, int path);

    [LibraryImport(Library)]
    internal static partial int rnn_model_create(in NativeModelSpec spec, int device, long seed, out ModelHandle model);

    [LibraryImport(Library)]
    internal static partial void rnn_model_free(nint model);

    [LibraryImport(Library)]
    internal static partial int rnn_model_parameter_count(ModelHandle model, out long count);

    [LibraryImport(Library)]
    internal static partial int rnn_model_describe_parameters(ModelHandle model, out BufferHandle text);

    [LibraryImport(Library)]
    internal static partial int rnn_model_read_parameters(ModelHandle model, float* destination, long count);

    [LibraryImport(Library)]
    internal static partial int rnn_model_write_parameters(ModelHandle model, float* source, long count);

    [LibraryImport(Library)]
    internal static partial int rnn_model_forward(ModelHandle model, in NativeBatch batch, int flags, float* outputs, float* states);

    [LibraryImport(Library)]
    internal static partial int rnn_model_evaluate(
        ModelHandle model, in NativeBatch batch, in NativeTargets targets, int loss, double huberDelta, out double lossValue, float* outputs);

    [LibraryImport(Library)]
    internal static partial int rnn_trainer_create(ModelHandle model, in NativeTrainerOptions options, out TrainerHandle trainer);

    [LibraryImport(Library)]
    internal static partial void rnn_trainer_free(nint trainer);

    [LibraryImport(Library)]
    internal static partial int rnn_trainer_step(TrainerHandle trainer, in NativeBatch batch, in NativeTargets targets, out double loss);

    [LibraryImport(Library)]
    internal static partial int rnn_trainer_set_learning_rate(TrainerHandle trainer, double learningRate);

    [LibraryImport(Library)]
    internal static partial int rnn_trainer_save(TrainerHandle trainer, out BufferHandle state);

    [LibraryImport(Library)]
    internal static partial int rnn_trainer_load(TrainerHandle trainer, byte* data, long size);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rnn_trainer_save_file(TrainerHandle trainer, string path);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rnn_trainer_load_file(TrainerHandle trainer, string path);

    [LibraryImport(Library)]
    internal static partial byte* rnn_buffer_data(BufferHandle buffer);

    [LibraryImport(Library)]
    internal static partial long rnn_buffer_size(BufferHandle buffer);

    [LibraryImport(Library)]
    internal static partial void rnn_buffer_free(nint buffer);

    internal const int ForwardSoftmax = 1;
}

[StructLayout(LayoutKind.Sequential)]
internal struct NativeModelSpec
{
    public int Cell;
    public int Bidirectional;
    public long InputSize;
    public long HiddenSize;
    public long NumLayers;
    public double Dropout;
    public long VocabularySize;
    public long EmbeddingDim;
    public long OutputSize;
    public int Pooling;
    public int PerStep;
    public double EmbeddingDropout;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeBatch
{
    public float* Features;
    public long* Tokens;
    public long* Lengths;
    public long BatchSize;
    public long Steps;
    public long FeatureCount;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeTargets
{
    public float* Values;
    public long* Classes;
    public long BatchSize;
    public double* Quantiles;
    public long QuantileCount;
}

[StructLayout(LayoutKind.Sequential)]
internal struct NativeTrainerOptions
{
    public int Optimizer;
    public int Loss;
    public double LearningRate;
    public double WeightDecay;
    public double Beta1;
    public double Beta2;
    public double Epsilon;
    public double GradientClipNorm;
    public double HuberDelta;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeEngineInfo
{
    public fixed byte LibtorchVersion[32];
    public int CudaAvailable;
    public int CudaDeviceCount;
    public int IntraOpThreads;
}
