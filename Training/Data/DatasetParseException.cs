namespace RnnService.Training.Data;

/// <summary>A dataset file that cannot be used, with every problem found (up to a limit), each naming its line or row.</summary>
public sealed class DatasetParseException(IReadOnlyList<string> problems)
    : Exception(problems.Count == 1 ? problems[0] : $"{problems.Count} problems, the first: {problems[0]}")
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>Collects problems and stops the parse once enough have been seen to explain the file.</summary>
internal sealed class ProblemList
{
    public const int Limit = 10;

    private readonly List<string> problems = [];

    public bool Any => problems.Count > 0;

    public void Add(string problem)
    {
        problems.Add(problem);
        if (problems.Count >= Limit) Throw();
    }

    public void ThrowIfAny()
    {
        if (Any) Throw();
    }

    public void Throw() => throw new DatasetParseException(problems);
}
