using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;

namespace RnnService.Training.Torch.StateDicts;

/// <summary>
/// Writes a state_dict as <c>torch.save</c> does (zip format, pickle protocol 2), so that Python's
/// <c>torch.load</c> (with or without <c>weights_only</c>) reads it back into an OrderedDict of tensors.
/// </summary>
public static class StateDictWriter
{
    private const string Archive = "archive";

    public static void Write(Stream destination, StateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(stateDict);
        // ZipArchive writes local headers it can seek back to; build in memory, then copy once.
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            AddEntry(zip, "data.pkl", Pickle(stateDict));
            AddEntry(zip, "byteorder", "little"u8);
            for (var i = 0; i < stateDict.Count; i++)
                AddEntry(zip, $"data/{i}", MemoryMarshal.AsBytes(stateDict[i].Values.AsSpan()));
            AddEntry(zip, "version", "3\n"u8);
        }

        buffer.Position = 0;
        buffer.CopyTo(destination);
    }

    private static void AddEntry(ZipArchive zip, string name, ReadOnlySpan<byte> content)
    {
        // Stored, not deflated: PyTorch reads (and can memory-map) its records uncompressed.
        var entry = zip.CreateEntry($"{Archive}/{name}", CompressionLevel.NoCompression);
        using var stream = entry.Open();
        stream.Write(content);
    }

    // OrderedDict([(name, _rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel),
    //                                          0, size, stride, False, OrderedDict())), ...])
    private static byte[] Pickle(StateDict stateDict)
    {
        var pickle = new PickleWriter();
        pickle.Op(0x80).Byte(2);  // PROTO 2
        pickle.Global("collections", "OrderedDict").Op(')').Op('R');
        pickle.Op('(');
        for (var i = 0; i < stateDict.Count; i++)
        {
            var tensor = stateDict[i];
            pickle.String(tensor.Name);
            pickle.Global("torch._utils", "_rebuild_tensor_v2");
            pickle.Op('(');
            pickle.Op('(').String("storage").Global("torch", "FloatStorage").String(i.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .String("cpu").Int(tensor.Values.LongLength).Op('t');
            pickle.Op('Q');  // BINPERSID
            pickle.Int(0);
            pickle.Op('(');
            foreach (var dimension in tensor.Shape) pickle.Int(dimension);
            pickle.Op('t');
            pickle.Op('(');
            foreach (var stride in ContiguousStrides(tensor.Shape)) pickle.Int(stride);
            pickle.Op('t');
            pickle.Op(0x89);  // False: requires_grad
            pickle.Global("collections", "OrderedDict").Op(')').Op('R');  // backward hooks
            pickle.Op('t').Op('R');
        }

        pickle.Op('u').Op('.');  // SETITEMS, STOP
        return pickle.ToArray();
    }

    private static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= Math.Max(shape[d], 1);
        }

        return strides;
    }

    private sealed class PickleWriter
    {
        private readonly MemoryStream stream = new();

        public PickleWriter Op(char opcode) => Byte((byte)opcode);

        public PickleWriter Op(byte opcode) => Byte(opcode);

        public PickleWriter Byte(byte value)
        {
            stream.WriteByte(value);
            return this;
        }

        public PickleWriter Global(string module, string name)
        {
            Op('c');
            stream.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
            return this;
        }

        public PickleWriter String(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
            Op('X');
            stream.Write(length);
            stream.Write(bytes);
            return this;
        }

        public PickleWriter Int(long value)
        {
            Span<byte> bytes = stackalloc byte[8];
            if (value is >= int.MinValue and <= int.MaxValue)
            {
                BinaryPrimitives.WriteInt32LittleEndian(bytes, (int)value);
                Op('J');
                stream.Write(bytes[..4]);
            }
            else
            {
                BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
                Op(0x8a).Byte(8);  // LONG1, 8 bytes, two's complement
                stream.Write(bytes);
            }

            return this;
        }

        public byte[] ToArray() => stream.ToArray();
    }
}
