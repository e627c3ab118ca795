using System.Globalization;
using RnnService.Domain.Datasets;

namespace RnnService.Training.Data;

/// <summary>
/// What a person looks at first in a dataset, bounded whatever its size: each column of the first series, evenly
/// sampled (time series); a histogram of lengths, of numeric labels, and a few examples (sequences, texts, token lists).
/// Class counts are in the summary already.
/// </summary>
public sealed record DatasetPreview
{
    public const int MaxSeries = 12;
    public const int MaxPoints = 500;
    public const int Bins = 20;
    public const int MaxExamples = 5;
    public const int MaxExampleSteps = 50;
    public const int MaxTextCharacters = 300;

    public required DatasetKind Kind { get; init; }

    /// <summary>Time series: the first <see cref="MaxSeries"/> series, each column sampled to at most <see cref="MaxPoints"/> steps.</summary>
    public IReadOnlyList<SeriesPreview>? Series { get; init; }

    /// <summary>Labelled data: how many examples have each length.</summary>
    public Histogram? Lengths { get; init; }

    /// <summary>Numeric labels (regression, per-step numbers): the first number of each label.</summary>
    public Histogram? LabelValues { get; init; }

    /// <summary>The first examples: a text (cut), tokens or steps (the first <see cref="MaxExampleSteps"/>), with the label.</summary>
    public IReadOnlyList<ExamplePreview>? Examples { get; init; }

    public static DatasetPreview From(ParsedDataset parsed)
    {
        if (parsed.TimeSeries is { } series)
        {
            return new DatasetPreview
            {
                Kind = parsed.Summary.Kind,
                Series = series.Series.Take(MaxSeries).Select(s =>
                {
                    var steps = Pipeline.ModelEvaluation.Sample(s.Length, MaxPoints).ToArray();
                    return new SeriesPreview(
                        s.Name, s.Length, steps,
                        s.Times is { } times ? steps.Select(t => times[t].UtcDateTime.ToString("O", CultureInfo.InvariantCulture)).ToArray() : null,
                        series.Columns.Select((column, c) => (column, c)).ToDictionary(pair => pair.column, pair => steps.Select(t => s.Values[pair.c][t]).ToArray()));
                }).ToArray(),
            };
        }
        var data = parsed.Labelled!;
        // Texts' lengths are in tokens, as the summary's and the models' are.
        int LengthOf(int i) => data.Texts is { } texts ? Tokenizer.Tokenize(texts[i]).Count : data.LengthOf(i);
        var classes = parsed.Summary.Labels?.Kind == LabelKind.Class;
        return new DatasetPreview
        {
            Kind = parsed.Summary.Kind,
            Lengths = Histogram.Of(Enumerable.Range(0, data.Count).Select(i => (double)LengthOf(i)).ToArray(), integers: true),
            LabelValues = classes ? null : Histogram.Of(data.Labels.Select(label => label[0]).ToArray(), integers: false),
            Examples = Enumerable.Range(0, Math.Min(MaxExamples, data.Count)).Select(i => new ExamplePreview(
                data.Texts?[i] is { } text ? text.Length > MaxTextCharacters ? text[..MaxTextCharacters] + "…" : text : null,
                data.Tokens?[i].Take(MaxExampleSteps).ToArray(),
                data.Steps?[i] is { } flat ? flat.Take(MaxExampleSteps * data.FeatureCount).Chunk(data.FeatureCount).ToArray() : null,
                LengthOf(i),
                data.PerStep ? data.Labels[i].Take(MaxExampleSteps * data.LabelWidth).ToArray() : data.Labels[i])).ToArray(),
        };
    }
}

public sealed record SeriesPreview(string Name, int Length, int[] Steps, string[]? Times, IReadOnlyDictionary<string, double[]> Columns);

public sealed record ExamplePreview(string? Text, string[]? Tokens, float[][]? Steps, int Length, double[] Label);

/// <summary>Counts of values in <see cref="Bins"/> equal bins from <c>Min</c> to <c>Max</c> (whole numbers: bins of whole numbers).</summary>
public sealed record Histogram(double Min, double Max, double[] Edges, long[] Counts)
{
    public static Histogram Of(double[] values, bool integers)
    {
        var finite = values.Where(double.IsFinite).ToArray();
        if (finite.Length == 0) return new Histogram(0, 0, [0, 0], [0]);
        double min = finite.Min(), max = finite.Max();
        var bins = integers ? (int)Math.Min(DatasetPreview.Bins, max - min + 1) : max > min ? DatasetPreview.Bins : 1;
        var width = integers ? Math.Ceiling((max - min + 1) / bins) : (max - min) / bins;
        if (width <= 0) width = 1;
        var edges = Enumerable.Range(0, bins + 1).Select(i => min + i * width).ToArray();
        var counts = new long[bins];
        foreach (var value in finite) counts[Math.Clamp((int)((value - min) / width), 0, bins - 1)]++;
        return new Histogram(min, max, edges, counts);
    }
}
