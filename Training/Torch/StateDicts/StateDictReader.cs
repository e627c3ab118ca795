using System.IO.Compression;
using System.Runtime.InteropServices;

namespace RnnService.Training.Torch.StateDicts;

/// <summary>
/// Reads what <c>torch.save(model.state_dict())</c> writes (the zip format of PyTorch 1.6 and later):
/// <c>{archive}/data.pkl</c> describes the tensors, <c>{archive}/data/{key}</c> holds their storages.
/// Every tensor comes back as float32, contiguous, whatever its stored type, offset and strides.
/// </summary>
public static class StateDictReader
{
    /// <summary>Files larger than this are refused before they are read.</summary>
    public const long DefaultMaxBytes = 2L * 1024 * 1024 * 1024 - 1;

    public static StateDict Read(Stream source, long maxBytes = DefaultMaxBytes)
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

        var tensors = new List<NamedTensor>();
        foreach (var (key, value) in dict.Items)
        {
            if (key is not string name) throw new StateDictFormatException("a state_dict key is not a string");
            if (value is not TensorRef tensor) throw new StateDictFormatException($"'{name}' is not a tensor");
            tensors.Add(new NamedTensor(name, tensor.Shape, Materialize(name, tensor, StorageBytes(tensor.Storage))));
        }

        return new StateDict(tensors);

        ReadOnlyMemory<byte> StorageBytes(StorageRef storage)
        {
            if (storages.TryGetValue(storage.Key, out var bytes)) return bytes;
            var entry = zip.GetEntry($"{prefix}data/{storage.Key}")
                        ?? throw new StateDictFormatException($"the storage data/{storage.Key} is missing");
            bytes = ReadEntry(entry, maxBytes);
            if (bytes.Length < storage.ElementCount * storage.Type.ElementSize)
                throw new StateDictFormatException($"the storage data/{storage.Key} is shorter than its {storage.ElementCount} elements");
            storages[storage.Key] = bytes;
            return bytes;
        }
    }

    private static StorageRef ToStorage(PickleTuple id)
    {
        // ('storage', torch.FloatStorage, key, location, numel)
        if (id.Items is not ["storage", StorageType type, string key, string, long count] || count < 0)
            throw new StateDictFormatException("a tensor's storage reference is not ('storage', type, key, location, numel)");
        return new StorageRef(type, key, count);
    }

    private static float[] Materialize(string name, TensorRef tensor, ReadOnlyMemory<byte> storage)
    {
        var shape = tensor.Shape;
        var strides = tensor.Strides;
        if (shape.Length != strides.Length || shape.Any(d => d < 0) || strides.Any(s => s < 0) || tensor.Offset < 0)
            throw new StateDictFormatException($"'{name}' has an invalid shape, stride or offset");
        long count = 1;
        foreach (var dimension in shape) count = checked(count * dimension);
        if (count > Array.MaxLength) throw new StateDictFormatException($"'{name}' is too large");
        var values = new float[count];
        if (count == 0) return values;

        var last = tensor.Offset + shape.Zip(strides, (d, s) => (d - 1) * s).Sum();
        if (last >= tensor.Storage.ElementCount)
            throw new StateDictFormatException($"'{name}' reaches past the end of its storage");

        if (tensor.Storage.Type.Name == "FloatStorage" && IsContiguous(shape, strides) && BitConverter.IsLittleEndian)
        {
            // What torch.save writes for a float32 state_dict: one block copy.
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
        if (entry.Length > limit) throw new StateDictFormatException($"{entry.FullName} is too large");
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
