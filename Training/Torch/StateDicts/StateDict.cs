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

    /// <summary>
    /// The tensors of <paramref name="parameters"/>, one after another in their order, into <paramref name="destination"/>
    /// (a model's flat layout), once the keys and shapes are checked as PyTorch's strict load_state_dict checks them.
    /// </summary>
    public void CopyTo(IReadOnlyList<ParameterInfo> parameters, float[] destination)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(destination);
        StateDictMismatchException.ThrowIfMismatched(parameters, this);
        long offset = 0;
        foreach (var parameter in parameters)
        {
            this[parameter.Name].Values.CopyTo(destination, offset);
            offset += parameter.ElementCount;
        }
    }

    public IEnumerator<NamedTensor> GetEnumerator() => tensors.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
