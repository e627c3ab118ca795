namespace RnnService.Training.Torch.StateDicts;

/// <summary>One tensor of a state_dict: its key, its shape and its values (float32, row-major).</summary>
public sealed record NamedTensor(string Name, long[] Shape, float[] Values)
{
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}

/// <summary>A PyTorch state_dict: named tensors in order.</summary>
public sealed class StateDict : IReadOnlyList<NamedTensor>
{
    private readonly List<NamedTensor> tensors;
    private readonly Dictionary<string, NamedTensor> byName;

    public StateDict(IEnumerable<NamedTensor> tensors)
    {
        this.tensors = tensors.ToList();
        byName = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (var tensor in this.tensors)
        {
            if (!byName.TryAdd(tensor.Name, tensor)) throw new ArgumentException($"the key '{tensor.Name}' appears twice");
            if (tensor.Values.LongLength != tensor.Shape.Aggregate(1L, (p, d) => p * d))
                throw new ArgumentException($"'{tensor.Name}' holds {tensor.Values.Length} values for shape {tensor.ShapeText}");
        }
    }

    public int Count => tensors.Count;

    public NamedTensor this[int index] => tensors[index];

    public NamedTensor this[string name] => byName[name];

    public bool Contains(string name) => byName.ContainsKey(name);

    public IEnumerator<NamedTensor> GetEnumerator() => tensors.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
