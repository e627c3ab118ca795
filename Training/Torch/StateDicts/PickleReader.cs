using System.Buffers.Binary;
using System.Text;

namespace RnnService.Training.Torch.StateDicts;

/// <summary>
/// A deliberately small unpickler for what <c>torch.save(state_dict)</c> writes: dicts, tuples, lists,
/// strings, numbers and tensors. Like PyTorch's <c>weights_only=True</c> it calls nothing: it knows a short
/// list of globals by name and refuses every other, so a hostile file cannot run code. It never recurses,
/// and it bounds its stack and memo, so a hostile file cannot exhaust the process either.
/// </summary>
internal sealed class PickleReader(byte[] data, Func<PickleTuple, object> persistentLoad)
{
    private const int MaxStack = 1_000_000;
    private const int MaxMemo = 1_000_000;

    private readonly List<object?> stack = [];
    private readonly List<int> marks = [];
    private readonly Dictionary<long, object?> memo = [];
    private int position;

    public object? Load()
    {
        while (true)
        {
            var offset = position;
            var opcode = ReadByte();
            switch (opcode)
            {
                case 0x80: ReadByte(); break;  // PROTO
                case 0x95: Take(8); break;  // FRAME: framing only
                case (byte)'(': marks.Add(stack.Count); break;  // MARK
                case (byte)'.': return stack.Count == 1 ? stack[0] : throw Error(offset, "the pickle ended with a broken stack");  // STOP
                case (byte)')': Push(new PickleTuple([])); break;
                case (byte)'}': Push(new PickleDict()); break;
                case (byte)']': Push(new List<object?>()); break;
                case (byte)'t': Push(new PickleTuple(PopMark(offset))); break;
                case 0x85: Push(new PickleTuple([Pop(offset)])); break;
                case 0x86: { var b = Pop(offset); var a = Pop(offset); Push(new PickleTuple([a, b])); break; }
                case 0x87: { var c = Pop(offset); var b = Pop(offset); var a = Pop(offset); Push(new PickleTuple([a, b, c])); break; }
                case (byte)'c': Push(Global(offset, ReadLine(), ReadLine())); break;  // GLOBAL
                case 0x93: { var name = Pop(offset); var module = Pop(offset); Push(Global(offset, AsString(offset, module), AsString(offset, name))); break; }
                case (byte)'q': Memoize(offset, ReadByte()); break;  // BINPUT
                case (byte)'r': Memoize(offset, BinaryPrimitives.ReadUInt32LittleEndian(Take(4))); break;  // LONG_BINPUT
                case 0x94: Memoize(offset, memo.Count); break;  // MEMOIZE
                case (byte)'h': Push(Recall(offset, ReadByte())); break;  // BINGET
                case (byte)'j': Push(Recall(offset, BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;  // LONG_BINGET
                case (byte)'X': Push(Utf8(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))))); break;
                case 0x8c: Push(Utf8(Take(ReadByte()))); break;  // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Take(checked((int)BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))))); break;  // BINUNICODE8
                case (byte)'K': Push((long)ReadByte()); break;  // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;  // BININT2
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;  // BININT
                case 0x8a: Push(Long1(offset, Take(ReadByte()))); break;  // LONG1
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;  // BINFLOAT
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'Q': Push(persistentLoad(Pop(offset) as PickleTuple ?? throw Error(offset, "a persistent id is not a tuple"))); break;
                case (byte)'R': { var arguments = Pop(offset); var callable = Pop(offset); Push(Reduce(offset, callable, arguments)); break; }
                case (byte)'b': Pop(offset); break;  // BUILD: state on a dict (state_dict's _metadata); nothing to keep
                case (byte)'s': { var value = Pop(offset); var key = Pop(offset); AsDict(offset, Peek(offset)).Set(key, value); break; }
                case (byte)'u': { var items = PopMark(offset); var dict = AsDict(offset, Peek(offset)); for (var i = 0; i + 1 < items.Length; i += 2) dict.Set(items[i], items[i + 1]); break; }
                case (byte)'a': { var item = Pop(offset); AsList(offset, Peek(offset)).Add(item); break; }
                case (byte)'e': { var items = PopMark(offset); AsList(offset, Peek(offset)).AddRange(items); break; }
                default: throw Error(offset, $"pickle opcode 0x{opcode:x2} is not part of a state_dict");
            }
        }
    }

    private static object Global(int offset, string module, string name) => (module, name) switch
    {
        ("collections", "OrderedDict") => PickleGlobal.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => PickleGlobal.RebuildTensor,
        ("torch._utils", "_rebuild_parameter") => PickleGlobal.RebuildParameter,
        ("torch", _) when name.EndsWith("Storage", StringComparison.Ordinal) && StorageTypes.TryGet(name, out var storage) => storage,
        _ => throw Error(offset, $"the file refers to the Python object {module}.{name}, which a state_dict of tensors never needs"),
    };

    private static object Reduce(int offset, object? callable, object? arguments)
    {
        var args = (arguments as PickleTuple)?.Items ?? throw Error(offset, "call arguments are not a tuple");
        return callable switch
        {
            PickleGlobal.OrderedDict when args.Length == 0 => new PickleDict(),
            // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            PickleGlobal.RebuildTensor when args.Length >= 4 && args[0] is StorageRef storage =>
                new TensorRef(storage, AsLong(offset, args[1]), AsLongs(offset, args[2]), AsLongs(offset, args[3])),
            // _rebuild_parameter(data, requires_grad, backward_hooks)
            PickleGlobal.RebuildParameter when args.Length >= 1 && args[0] is TensorRef tensor => tensor,
            _ => throw Error(offset, $"unsupported call of {callable ?? "None"} with {args.Length} arguments"),
        };
    }

    private void Push(object? value)
    {
        if (stack.Count >= MaxStack) throw Error(position, "the pickle stack grew beyond its limit");
        stack.Add(value);
    }

    private object? Pop(int offset)
    {
        if (stack.Count == 0 || (marks.Count > 0 && stack.Count <= marks[^1])) throw Error(offset, "the pickle stack is empty");
        var value = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    private object? Peek(int offset) => stack.Count > 0 ? stack[^1] : throw Error(offset, "the pickle stack is empty");

    private object?[] PopMark(int offset)
    {
        if (marks.Count == 0) throw Error(offset, "a MARK is missing");
        var start = marks[^1];
        marks.RemoveAt(marks.Count - 1);
        var items = stack.GetRange(start, stack.Count - start).ToArray();
        stack.RemoveRange(start, stack.Count - start);
        return items;
    }

    private void Memoize(int offset, long index)
    {
        if (memo.Count >= MaxMemo && !memo.ContainsKey(index)) throw Error(offset, "the pickle memo grew beyond its limit");
        memo[index] = Peek(offset);
    }

    private object? Recall(int offset, long index) =>
        memo.TryGetValue(index, out var value) ? value : throw Error(offset, $"memo entry {index} is missing");

    private byte ReadByte() => Take(1)[0];

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > data.Length - position) throw Error(position, "the pickle ends early");
        var span = data.AsSpan(position, count);
        position += count;
        return span;
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(data, (byte)'\n', position);
        if (end < 0) throw Error(position, "the pickle ends early");
        var line = Encoding.ASCII.GetString(data, position, end - position);
        position = end + 1;
        return line;
    }

    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private static long Long1(int offset, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 8) throw Error(offset, "an integer is too large");
        long value = 0;
        for (var i = bytes.Length - 1; i >= 0; i--) value = (value << 8) | bytes[i];
        if (bytes.Length is > 0 and < 8 && (bytes[^1] & 0x80) != 0) value -= 1L << (8 * bytes.Length);  // two's complement
        return value;
    }

    private static string AsString(int offset, object? value) => value as string ?? throw Error(offset, "expected a string");

    private static long AsLong(int offset, object? value) => value is long n ? n : throw Error(offset, "expected an integer");

    private static long[] AsLongs(int offset, object? value) =>
        value is PickleTuple tuple ? tuple.Items.Select(item => AsLong(offset, item)).ToArray() : throw Error(offset, "expected a tuple of integers");

    private static PickleDict AsDict(int offset, object? value) => value as PickleDict ?? throw Error(offset, "items set on something that is not a dict");

    private static List<object?> AsList(int offset, object? value) => value as List<object?> ?? throw Error(offset, "items appended to something that is not a list");

    private static StateDictFormatException Error(int offset, string message) => new($"data.pkl at byte {offset}: {message}");
}

internal sealed record PickleTuple(object?[] Items);

/// <summary>A Python dict: insertion order kept, a repeated key overwrites (last one wins).</summary>
internal sealed class PickleDict
{
    private readonly List<object?> keys = [];
    private readonly Dictionary<object, object?> values = [];

    public IEnumerable<KeyValuePair<object?, object?>> Items =>
        keys.Select(key => new KeyValuePair<object?, object?>(key, values[key ?? NullKey]));

    public void Set(object? key, object? value)
    {
        if (!values.ContainsKey(key ?? NullKey)) keys.Add(key);
        values[key ?? NullKey] = value;
    }

    private static readonly object NullKey = new();
}

internal enum PickleGlobal
{
    OrderedDict,
    RebuildTensor,
    RebuildParameter,
}

/// <summary>torch.FloatStorage and its siblings: the element type of a tensor's storage.</summary>
internal sealed record StorageType(string Name, int ElementSize, Func<ReadOnlyMemory<byte>, long, float> Read);

internal static class StorageTypes
{
    private static readonly Dictionary<string, StorageType> Known = new StorageType[]
    {
        new("FloatStorage", 4, (b, i) => BinaryPrimitives.ReadSingleLittleEndian(b.Span[(int)(i * 4)..])),
        new("DoubleStorage", 8, (b, i) => (float)BinaryPrimitives.ReadDoubleLittleEndian(b.Span[(int)(i * 8)..])),
        new("HalfStorage", 2, (b, i) => (float)BinaryPrimitives.ReadHalfLittleEndian(b.Span[(int)(i * 2)..])),
        new("BFloat16Storage", 2, (b, i) => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b.Span[(int)(i * 2)..]) << 16)),
        new("LongStorage", 8, (b, i) => BinaryPrimitives.ReadInt64LittleEndian(b.Span[(int)(i * 8)..])),
        new("IntStorage", 4, (b, i) => BinaryPrimitives.ReadInt32LittleEndian(b.Span[(int)(i * 4)..])),
    }.ToDictionary(type => type.Name);

    public static bool TryGet(string name, out StorageType type) => Known.TryGetValue(name, out type!);
}

/// <summary>('storage', type, key, location, numel): a record data/{key} of numel elements.</summary>
internal sealed record StorageRef(StorageType Type, string Key, long ElementCount);

internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Strides);
