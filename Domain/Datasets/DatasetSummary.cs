namespace RnnService.Domain.Datasets;

/// <summary>
/// What parsing found in a dataset: enough to validate a training request against it without reading
/// the file again.
/// </summary>
public sealed record DatasetSummary
{
    public required DatasetKind Kind { get; init; }

    public required DatasetFormat Format { get; init; }

    /// <summary>Data rows (CSV) or lines (JSON lines).</summary>
    public required int Rows { get; init; }

    /// <summary>Time series: the numeric columns, in file order.</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>Time series: the column that orders the rows, if any.</summary>
    public string? TimeColumn { get; init; }

    /// <summary>
    /// Time series: the steps' regular frequency when the time column holds dates (<c>hour</c>, <c>day</c>, <c>week</c>,
    /// <c>month</c>, <c>quarter</c>, <c>year</c>); absent otherwise.
    /// </summary>
    public string? Frequency { get; init; }

    /// <summary>
    /// Time series: the season found in the first series' first column (the frequency's, when the series repeats at that
    /// lag; else its strongest autocorrelation; 1 for none). A forecast's default <c>season</c>.
    /// </summary>
    public int? Season { get; init; }

    /// <summary>Time series: the column that names the series, if any.</summary>
    public string? SeriesColumn { get; init; }

    /// <summary>Time series: how many series the file holds (1 without a series column).</summary>
    public int Series { get; init; } = 1;

    /// <summary>Sequences: features per step.</summary>
    public int? FeatureCount { get; init; }

    /// <summary>Shortest series, sequence, or text (in tokens).</summary>
    public required int MinLength { get; init; }

    public required int MaxLength { get; init; }

    /// <summary>
    /// Sequences and texts: steps (tokens) of all examples together, for budgeting a job's memory. Absent from summaries
    /// stored before it was counted; estimates then take the mean of the shortest and the longest.
    /// </summary>
    public long? TotalSteps { get; init; }

    /// <summary>Texts and tokens: distinct tokens, the largest vocabulary a model of them can have besides &lt;pad&gt; and &lt;unk&gt;.</summary>
    public int? DistinctTokens { get; init; }

    /// <summary>Sequences and texts: how they are labelled.</summary>
    public LabelSummary? Labels { get; init; }
}

/// <summary>
/// Labels of a sequences, texts or tokens dataset: classes with their counts, or numbers with their width (1 for a bare
/// number, k for lists of k numbers); <c>PerStep</c>: one label per step (<c>labels</c>, for labelling) rather than one
/// per example, and then the class counts are of steps.
/// </summary>
public sealed record LabelSummary(LabelKind Kind, IReadOnlyDictionary<string, int>? Classes, int Width, bool PerStep = false);
