using System.IO.Compression;
using System.Runtime.InteropServices;

namespace RnnService.Training.Torch.StateDicts;

/// <summary>
/// Reads what <c>torch.save(model.state_dict())</c> writes (the zip format of PyTorch 1.6 and later):
/// <c>{archive}/data.pkl</c> describes the tensors, <c>{archive}/data/{key}</c> holds their storages.
/// Every tensor comes back as float32, contiguous, whatever its stored type, offset and strides. Sizes are counted in
/// 64 bits and checked before anything is allocated: a shape that claims more values than the caller allows (or more
/// than fit one array) is refused from the pickle alone, whatever the file's size.
/// </summary>
public static class StateDictReader
{
    /// <summary>Files larger than this are refused before they are read, unless the caller allows more.</summary>
    public const long DefaultMaxBytes = 2L * 1024 * 1024 * 1024 - 1;

    /// <summary>Floats read from a stored float32 storage per call (a span of bytes holds at most 2^31 of them).</summary>
    private const int ChunkFloats = 1 << 24;

    /// <param name="maxElements">Most values all tensors may hold together; checked before any is read.</param>
    public static StateDict Read(Stream source, long maxBytes = DefaultMaxBytes, long maxElements = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var zip = OpenZip(source, maxBytes);
        var pickle = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
        if (pickle.Count != 1)
            throw new StateDictFormatException("the zip holds no {archive}/data.pkl; is it a file written by torch.save?");
        var prefix = pickle[0].FullName[..^"data.pkl".Length];

        var byteOrder = zip.GetEntry(prefix + "byteorder");
        if (byteOrder is not null && ReadEntry(byteOrder, 16) is var order && System.Text.Encoding.ASCII.GetString(order) != "little")
            throw new StateDictFormatException("the file was written on a big-endian machine, which is not supported");

        var storages = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        var root = new PickleReader(ReadEntry(pickle[0], maxBytes), id => ToStorage(id)).Load();
        if (root is not PickleDict dict)
            throw new StateDictFormatException("the file holds a single object that is not a dict; save model.state_dict(), not the model");

        var described = new List<(string Name, TensorRef Tensor, long Count)>();
        long total = 0;
        foreach (var (key, value) in dict.Items)
        {
            if (key is not string name) throw new StateDictFormatException("a state_dict key is not a string");
            if (value is not TensorRef tensor) throw new StateDictFormatException($"'{name}' is not a tensor");
            var count = ElementCount(name, tensor);
            total = count > long.MaxValue - total ? long.MaxValue : total + count;
            described.Add((name, tensor, count));
        }
        if (total > maxElements) throw new StateDictTooLargeException(total, maxElements);

        var tensors = new List<NamedTensor>(described.Count);
        foreach (var (name, tensor, count) in described)
        {
            if (count > Array.MaxLength)
                throw new StateDictFormatException($"'{name}' holds {count:N0} values; one tensor may hold at most {Array.MaxLength:N0}");
            tensors.Add(new NamedTensor(name, tensor.Shape, IsWholeFloatStorage(tensor, count)
                ? ReadFloats(name, tensor, count)
                : Materialize(name, tensor, count, StorageBytes(tensor.Storage))));
        }

        return new StateDict(tensors);

        ReadOnlyMemory<byte> StorageBytes(StorageRef storage)
        {
            if (storages.TryGetValue(storage.Key, out var bytes)) return bytes;
            var needed = Multiply(storage.ElementCount, storage.Type.ElementSize);
            if (needed > Array.MaxLength)
                throw new StateDictFormatException(
                    $"the storage data/{storage.Key} holds {needed:N0} bytes; storages over {Array.MaxLength:N0} bytes must be float32 tensors stored whole");
            bytes = ReadEntry(StorageEntry(storage), maxBytes);
            if (bytes.Length < needed)
                throw new StateDictFormatException($"the storage data/{storage.Key} is shorter than its {storage.ElementCount} elements");
            storages[storage.Key] = bytes;
            return bytes;
        }

        ZipArchiveEntry StorageEntry(StorageRef storage) =>
            zip.GetEntry($"{prefix}data/{storage.Key}") ?? throw new StateDictFormatException($"the storage data/{storage.Key} is missing");

        // What torch.save writes for a float32 state_dict: each tensor is its whole storage. Its bytes go from the entry
        // straight into the tensor's array, so that a tensor of any size is read without a second copy.
        float[] ReadFloats(string name, TensorRef tensor, long count)
        {
            var entry = StorageEntry(tensor.Storage);
            if (entry.Length < count * 4)
                throw new StateDictFormatException($"the storage data/{tensor.Storage.Key} is shorter than its {tensor.Storage.ElementCount} elements");
            var values = new float[count];
            try
            {
                using var stream = entry.Open();
                for (long done = 0; done < count; done += ChunkFloats)
                {
                    var chunk = (int)Math.Min(ChunkFloats, count - done);
                    stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan((int)done, chunk)));
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                throw new StateDictFormatException($"{entry.FullName} is damaged: {e.Message}");
            }
            return values;
        }
    }

    private static StorageRef ToStorage(PickleTuple id)
    {
        // ('storage', torch.FloatStorage, key, location, numel)
        if (id.Items is not ["storage", StorageType type, string key, string, long count] || count < 0)
            throw new StateDictFormatException("a tensor's storage reference is not ('storage', type, key, location, numel)");
        return new StorageRef(type, key, count);
    }

    /// <summary>
    /// The tensor's element count, once its shape, strides and offset are known to be valid and to stay inside its
    /// storage, all in 64-bit arithmetic that refuses to overflow (a wrapped sum could point back inside the storage).
    /// </summary>
    private static long ElementCount(string name, TensorRef tensor)
    {
        var shape = tensor.Shape;
        var strides = tensor.Strides;
        if (shape.Length != strides.Length || shape.Any(d => d < 0) || strides.Any(s => s < 0) || tensor.Offset < 0)
            throw new StateDictFormatException($"'{name}' has an invalid shape, stride or offset");
        long count = 1;
        foreach (var dimension in shape) count = Multiply(count, dimension);
        if (count == long.MaxValue) throw new StateDictFormatException($"'{name}' has a shape whose size does not fit in 64 bits");
        if (count == 0) return 0;
        var last = tensor.Offset;
        for (var d = 0; d < shape.Length; d++)
        {
            var reach = Multiply(shape[d] - 1, strides[d]);
            last = reach > long.MaxValue - last ? long.MaxValue : last + reach;
        }
        if (last >= tensor.Storage.ElementCount)
            throw new StateDictFormatException($"'{name}' reaches past the end of its storage");
        return count;
    }

    /// <summary>a × b for non-negative sizes, saturating at <see cref="long.MaxValue"/>.</summary>
    private static long Multiply(long a, long b) => a != 0 && b > long.MaxValue / a ? long.MaxValue : a * b;

    private static bool IsWholeFloatStorage(TensorRef tensor, long count) =>
        tensor.Storage.Type.Name == "FloatStorage" && BitConverter.IsLittleEndian && tensor.Offset == 0
        && count == tensor.Storage.ElementCount && count > 0 && IsContiguous(tensor.Shape, tensor.Strides);

    private static float[] Materialize(string name, TensorRef tensor, long count, ReadOnlyMemory<byte> storage)
    {
        var shape = tensor.Shape;
        var strides = tensor.Strides;
        var values = new float[count];
        if (count == 0) return values;

        if (tensor.Storage.Type.Name == "FloatStorage" && IsContiguous(shape, strides) && BitConverter.IsLittleEndian)
        {
            // A contiguous float32 part of a storage (the storage is at most 2 GiB here): one block copy.
            MemoryMarshal.Cast<byte, float>(storage.Span.Slice(checked((int)(tensor.Offset * 4)), checked((int)(count * 4)))).CopyTo(values);
            return values;
        }

        // Walk the index in row-major order, following the strides into the storage.
        var index = new long[shape.Length];
        var position = tensor.Offset;
        for (long k = 0; k < count; k++)
        {
            values[k] = tensor.Storage.Type.Read(storage, position);
            for (var d = shape.Length - 1; d >= 0; d--)
            {
                position += strides[d];
                if (++index[d] < shape[d]) break;
                position -= strides[d] * shape[d];
                index[d] = 0;
            }
        }

        return values;
    }

    private static bool IsContiguous(long[] shape, long[] strides)
    {
        long expected = 1;
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && strides[d] != expected) return false;
            expected *= shape[d];
        }

        return true;
    }

    private static ZipArchive OpenZip(Stream source, long maxBytes)
    {
        try
        {
            if (source.CanSeek)
            {
                if (source.Length - source.Position > maxBytes) throw new StateDictFormatException($"the file is larger than {maxBytes} bytes");
                return new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
            }

            var copy = new MemoryStream();
            source.CopyTo(copy);
            if (copy.Length > maxBytes) throw new StateDictFormatException($"the file is larger than {maxBytes} bytes");
            copy.Position = 0;
            return new ZipArchive(copy, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException)
        {
            // Some streams answer a seek past a short non-zip file with ArgumentOutOfRange rather than InvalidData.
            throw new StateDictFormatException($"not a PyTorch weights file (torch.save writes a zip archive): {e.Message}");
        }
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, long limit)
    {
        if (entry.Length > Math.Min(limit, Array.MaxLength)) throw new StateDictFormatException($"{entry.FullName} is too large ({entry.Length:N0} bytes)");
        try
        {
            using var stream = entry.Open();
            var bytes = new byte[entry.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new StateDictFormatException($"{entry.FullName} is damaged: {e.Message}");
        }
    }
}
