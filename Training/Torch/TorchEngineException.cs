using System.Runtime.InteropServices;

namespace RnnService.Training.Torch;

public enum EngineErrorKind
{
    /// <summary>The caller's input was wrong: shapes, lengths, token ids, classes, options.</summary>
    InvalidArgument = 1,

    /// <summary>libtorch itself failed: a CUDA error, a diverged loss.</summary>
    EngineFailure = 2,

    /// <summary>An allocation failed; the message says how many bytes, for what. What the call had allocated is freed.</summary>
    OutOfMemory = 3,
}

/// <summary>A failed call into the native engine, with the engine's own message.</summary>
public sealed class TorchEngineException(EngineErrorKind kind, string message) : Exception(message)
{
    public EngineErrorKind Kind { get; } = kind;

    /// <summary>Throws when a native call did not return RNN_OK; the message is read on the calling thread.</summary>
    internal static void Check(int status)
    {
        if (status == 0) return;
        var message = Marshal.PtrToStringUTF8(NativeMethods.rnn_last_error());
        var kind = status switch
        {
            (int)EngineErrorKind.InvalidArgument => EngineErrorKind.InvalidArgument,
            (int)EngineErrorKind.OutOfMemory => EngineErrorKind.OutOfMemory,
            _ => EngineErrorKind.EngineFailure,
        };
        throw new TorchEngineException(kind, string.IsNullOrEmpty(message) ? $"native engine call failed with status {status}" : message);
    }
}
