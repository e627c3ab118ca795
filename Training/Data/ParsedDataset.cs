using RnnService.Domain.Datasets;

namespace RnnService.Training.Data;

/// <summary>A dataset as parsed from its file: its summary and exactly one of the three contents.</summary>
public sealed class ParsedDataset
{
    public required DatasetSummary Summary { get; init; }

    public TimeSeriesData? TimeSeries { get; init; }

    /// <summary>Sequences or texts with their labels.</summary>
    public LabelledData? Labelled { get; init; }
}

/// <summary>One or more series over the same numeric columns, each in time order.</summary>
public sealed record TimeSeriesData(IReadOnlyList<string> Columns, IReadOnlyList<Series> Series)
{
    public int ColumnIndex(string name) => Columns.ToList().IndexOf(name);
}

/// <summary>One series: <c>Values[column][step]</c>; <c>Times</c>, each step's, when its time column holds dates.</summary>
public sealed record Series(string Name, double[][] Values)
{
    public DateTimeOffset[]? Times { get; init; }

    public int Length => Values[0].Length;
}

/// <summary>
/// Labelled examples: sequences (<c>Steps</c>, flat, <c>length × featureCount</c>), texts, or token lists; labels as
/// raw numbers. <c>Labels[example]</c> is one number for classes and scalar regression, <see cref="LabelWidth"/> for
/// vector regression; with <see cref="PerStep"/> labels, that for each step, flat (<c>length × LabelWidth</c>).
/// </summary>
public sealed record LabelledData(
    IReadOnlyList<float[]>? Steps, int FeatureCount, IReadOnlyList<string>? Texts, IReadOnlyList<double[]> Labels)
{
    /// <summary>Token lists (labelling datasets of tokens), words as given.</summary>
    public IReadOnlyList<string[]>? Tokens { get; init; }

    /// <summary>A label for every step rather than one per example.</summary>
    public bool PerStep { get; init; }

    /// <summary>Numbers in one label: 1 for classes and bare numbers.</summary>
    public int LabelWidth { get; init; } = 1;

    public int Count => Labels.Count;

    public int LengthOf(int example) => Tokens is not null ? Tokens[example].Length : Steps![example].Length / FeatureCount;
}
