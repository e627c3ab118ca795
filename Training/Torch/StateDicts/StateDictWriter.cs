using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;

namespace RnnService.Training.Torch.StateDicts;

/// <summary>
/// Writes a state_dict as <c>torch.save</c> does (zip format, pickle protocol 2), so that Python's
/// <c>torch.load</c> (with or without <c>weights_only</c>) reads it back into an OrderedDict of tensors. The tensors'
/// bytes go straight from their arrays into the destination, a chunk at a time: no copy of the weights is made, and a
/// file may hold more than 2 GiB.
/// </summary>
public static class StateDictWriter
{
    private const string Archive = "archive";

    /// <summary>Bytes written per call: arrays hold up to 2^31 floats, spans of bytes at most 2^31 bytes.</summary>
    private const int ChunkFloats = 1 << 24;

    public static void Write(Stream destination, StateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        Write(destination, stateDict.Select(tensor => new TensorSlice(tensor.Name, tensor.Shape, tensor.Values, 0)).ToList());
    }

    /// <summary>
    /// A model's parameters, held one after another in <paramref name="values"/> in state_dict order (what
    /// <c>SequenceModel.ReadParameters</c> gives).
    /// </summary>
    public static void Write(Stream destination, IReadOnlyList<ParameterInfo> parameters, float[] values)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(values);
        var slices = new List<TensorSlice>(parameters.Count);
        long offset = 0;
        foreach (var parameter in parameters)
        {
            slices.Add(new TensorSlice(parameter.Name, parameter.Shape, values, offset));
            offset = checked(offset + parameter.ElementCount);
        }
        if (offset != values.LongLength)
            throw new ArgumentException($"{values.LongLength} values for parameters of {offset} in all", nameof(values));
        Write(destination, slices);
    }

    private static void Write(Stream destination, IReadOnlyList<TensorSlice> tensors)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanSeek)
        {
            // A zip's local headers are written before the sizes are known and fixed afterwards, which needs seeking;
            // where the destination cannot seek, build it in memory and copy it once.
            using var buffer = new MemoryStream();
            Write(buffer, tensors);
            buffer.Position = 0;
            buffer.CopyTo(destination);
            return;
        }
        using var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        AddEntry(zip, "data.pkl", Pickle(tensors));
        AddEntry(zip, "byteorder", "little"u8);
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            using var stream = CreateEntry(zip, $"data/{i}");
            for (long done = 0; done < tensor.Count; done += ChunkFloats)
            {
                var count = (int)Math.Min(ChunkFloats, tensor.Count - done);
                stream.Write(MemoryMarshal.AsBytes(tensor.Source.AsSpan(checked((int)(tensor.Offset + done)), count)));
            }
        }
        AddEntry(zip, "version", "3\n"u8);
    }

    private static void AddEntry(ZipArchive zip, string name, ReadOnlySpan<byte> content)
    {
        using var stream = CreateEntry(zip, name);
        stream.Write(content);
    }

    // Stored, not deflated: PyTorch reads (and can memory-map) its records uncompressed.
    private static Stream CreateEntry(ZipArchive zip, string name) =>
        zip.CreateEntry($"{Archive}/{name}", CompressionLevel.NoCompression).Open();

    // OrderedDict([(name, _rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel),
    //                                          0, size, stride, False, OrderedDict())), ...])
    private static byte[] Pickle(IReadOnlyList<TensorSlice> tensors)
    {
        var pickle = new PickleWriter();
        pickle.Op(0x80).Byte(2);  // PROTO 2
        pickle.Global("collections", "OrderedDict").Op(')').Op('R');
        pickle.Op('(');
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            pickle.String(tensor.Name);
            pickle.Global("torch._utils", "_rebuild_tensor_v2");
            pickle.Op('(');
            pickle.Op('(').String("storage").Global("torch", "FloatStorage").String(i.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .String("cpu").Int(tensor.Count).Op('t');
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

    /// <summary>One tensor's values: <c>Count</c> floats of <c>Source</c> from <c>Offset</c>.</summary>
    private readonly record struct TensorSlice(string Name, long[] Shape, float[] Source, long Offset)
    {
        public long Count { get; } = Shape.Aggregate(1L, (product, dimension) => checked(product * dimension));
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
