namespace RnnService.Domain.Datasets;

/// <summary>What a dataset holds, which decides the tasks it can train.</summary>
public enum DatasetKind
{
    /// <summary>CSV: numeric columns over time, optionally several series.</summary>
    TimeSeries,

    /// <summary>JSON lines: labelled sequences of feature steps, lengths varying.</summary>
    Sequences,

    /// <summary>JSON lines: labelled texts.</summary>
    Texts,

    /// <summary>JSON lines: sequences of tokens (words as given), a label per token.</summary>
    Tokens,
}

public enum DatasetFormat
{
    Csv,
    Jsonl,
}

/// <summary>How a sequences or texts dataset is labelled.</summary>
public enum LabelKind
{
    /// <summary>Integer classes: classification.</summary>
    Class,

    /// <summary>A number or a fixed-length list of numbers: regression.</summary>
    Number,
}
