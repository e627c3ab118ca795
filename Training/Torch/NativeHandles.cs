using Microsoft.Win32.SafeHandles;

namespace RnnService.Training.Torch;

// Each handle frees its native object exactly once, when disposed or finalized.
// The native side shares a model's state with its trainers, so the order of release is free.

internal sealed class ModelHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public ModelHandle() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle()
    {
        NativeMethods.rnn_model_free(handle);
        return true;
    }
}

internal sealed class TrainerHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public TrainerHandle() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle()
    {
        NativeMethods.rnn_trainer_free(handle);
        return true;
    }
}

internal sealed class BufferHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public BufferHandle() : base(ownsHandle: true) { }

    /// <summary>Copies the native bytes into managed memory.</summary>
    public unsafe byte[] ToArray()
    {
        var size = NativeMethods.rnn_buffer_size(this);
        return new ReadOnlySpan<byte>(NativeMethods.rnn_buffer_data(this), checked((int)size)).ToArray();
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.rnn_buffer_free(handle);
        return true;
    }
}
