namespace RnnService.Training.Torch.StateDicts;

/// <summary>A weights file that cannot be used: unreadable, or not fitting the model.</summary>
public abstract class StateDictException(string message) : Exception(message);

/// <summary>The file is not a readable PyTorch state_dict (torch.save's zip format).</summary>
public sealed class StateDictFormatException(string message) : StateDictException(message);

/// <summary>The file is a state_dict, but its tensors hold more values than the reader was allowed to take.</summary>
public sealed class StateDictTooLargeException(long elements, long limit)
    : StateDictException($"its tensors hold {elements:N0} values; at most {limit:N0} are allowed")
{
    /// <summary>The values of all tensors together, as their shapes say (saturating at long.MaxValue).</summary>
    public long Elements { get; } = elements;

    public long Limit { get; } = limit;
}

/// <summary>The file is a state_dict, but its keys or shapes are not the model's.</summary>
public sealed class StateDictMismatchException : StateDictException
{
    private StateDictMismatchException(IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misshaped)
        : base(Describe(missing, unexpected, misshaped))
    {
        Missing = missing;
        Unexpected = unexpected;
        Misshaped = misshaped;
    }

    /// <summary>Keys the model has and the file lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys the file has and the model lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>"name is [a, b] in the file, the model expects [c, d]" for each key whose shape differs.</summary>
    public IReadOnlyList<string> Misshaped { get; }

    /// <summary>Compares like PyTorch's strict load_state_dict, and reports every difference at once.</summary>
    public static void ThrowIfMismatched(IReadOnlyList<ParameterInfo> expected, StateDict actual)
    {
        var missing = expected.Where(p => !actual.Contains(p.Name)).Select(p => p.Name).ToList();
        var names = expected.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var unexpected = actual.Where(t => !names.Contains(t.Name)).Select(t => t.Name).ToList();
        var misshaped = expected
            .Where(p => actual.Contains(p.Name) && !actual[p.Name].Shape.SequenceEqual(p.Shape))
            .Select(p => $"{p.Name} is {actual[p.Name].ShapeText} in the file, the model expects {p.ShapeText}")
            .ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
            throw new StateDictMismatchException(missing, unexpected, misshaped);
    }

    private static string Describe(IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misshaped)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add("missing keys: " + string.Join(", ", missing));
        if (unexpected.Count > 0) parts.Add("unexpected keys: " + string.Join(", ", unexpected));
        if (misshaped.Count > 0) parts.Add("shape mismatch: " + string.Join("; ", misshaped));
        return "the weights do not fit the model: " + string.Join("; ", parts);
    }
}
