using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;

namespace RnnService.Domain.Budgets;

/// <summary>
/// The <see cref="TrainingShape"/> of a resolved request on its dataset, from the dataset's summary alone. Example
/// counts follow the pipelines' own splits; the bytes follow how they hold their data: .NET arrays (24 bytes of header
/// each), one object per example, the parsers' per-row strings and arrays. The per-row figures are worked out from
/// those layouts; <c>bench/reliability.sh memory</c> checks them against jobs whose memory is mostly data (long
/// windows, texts).
/// </summary>
public static class TrainingShapes
{
    private const long ArrayHeader = 24;

    /// <summary>An example record, its list slot (with the list's doubling) and the arrays' headers beside their data.</summary>
    private const long PerExample = 56 + 16 + 2 * ArrayHeader;

    /// <summary>CSV parsing, per row: the line's cells (strings, an array), its numbers, and the series' ordering tuples.</summary>
    private const long CsvPerRow = 112;

    private const long CsvPerCell = 32;

    /// <summary>JSON lines parsing, per line: the label's array, the lists' slots, and the JSON document of the line.</summary>
    private const long JsonLinesPerLine = 96;

    /// <summary>A word while texts are tokenised: its string (24 bytes and two a character) and its slot in the token list.</summary>
    private const long PerToken = 48;

    /// <summary>Windows of <c>inputLength</c> steps of the features, each copied and scaled, predicting <c>horizon × targets</c>.</summary>
    public static TrainingShape Forecast(
        DatasetSummary dataset, TaskOptions task, TrainingOptions training, long fileBytes, int networkWidth, int steps, int outputsPerValue)
    {
        int inputLength = task.InputLength!.Value, horizon = task.Horizon!.Value;
        long features = task.Features!.Count, targets = task.Targets!.Count;
        var series = Math.Max(1, dataset.Series);
        var length = Math.Max(1, dataset.Rows / series);
        var held = ForecastSplit.HeldOutSteps(length, horizon, training.ValidationFraction!.Value);
        var trainingWindows = series * Math.Max(0, length - held - inputLength - horizon + 1L);
        var validationWindows = series * Math.Max(0, held - horizon + 1L);
        var perWindow = Sizes.Sum(PerExample, Sizes.Product(4, steps, networkWidth), Sizes.Product(4, horizon, targets));
        // A validation window also keeps its actual and seasonal-naive values, and the offset and unit of each (8 bytes each);
        // its metrics map the outputs back, each quantile's too.
        var perValidation = Sizes.Sum(4 * ArrayHeader + 40, Sizes.Product(32 + 8 * outputsPerValue, horizon, targets), Sizes.Product(16, features));
        var data = Sizes.Sum(Sizes.Product(trainingWindows + validationWindows, perWindow), Sizes.Product(validationWindows, perValidation));

        var values = SeriesValues(dataset);
        // The windows are cut from the parsed series, which stay until the pipeline is made.
        var loading = Math.Max(ParsingSeries(dataset, fileBytes), Sizes.Sum(values, data));
        return new TrainingShape(training.BatchSize!.Value, steps, 4L * networkWidth, trainingWindows, validationWindows, data, loading);
    }

    /// <summary>
    /// The dataset parsed, as a prediction job holds it while it runs: a time series' columns (with the parser's peak), or
    /// every sequence's values, or every text's words.
    /// </summary>
    public static long Parsed(DatasetSummary dataset, long fileBytes)
    {
        if (dataset.Kind == DatasetKind.TimeSeries) return ParsingSeries(dataset, fileBytes);
        var examples = (long)dataset.Rows;
        var steps = dataset.TotalSteps ?? examples * (dataset.MinLength + (long)dataset.MaxLength) / 2;
        var parsed = Sizes.Product(examples, JsonLinesPerLine);
        return dataset.Kind is DatasetKind.Texts or DatasetKind.Tokens
            ? Sizes.Sum(Sizes.Product(2, fileBytes), parsed, Sizes.Product(PerToken, steps))
            : Sizes.Sum(parsed, Sizes.Product(4, steps, dataset.FeatureCount ?? 1));
    }

    private static long SeriesValues(DatasetSummary dataset) => Sizes.Product(dataset.Rows, dataset.Columns?.Count ?? 1, 8);

    /// <summary>CSV parsing at its peak: the file's text twice, each row's cells, and the values twice (read, then ordered).</summary>
    private static long ParsingSeries(DatasetSummary dataset, long fileBytes)
    {
        var columns = (dataset.Columns?.Count ?? 1) + (dataset.TimeColumn is null ? 0 : 1) + (dataset.SeriesColumn is null ? 0 : 1);
        return Sizes.Sum(Sizes.Product(2, fileBytes), Sizes.Product(dataset.Rows, CsvPerRow + CsvPerCell * columns), Sizes.Product(2, SeriesValues(dataset)));
    }

    /// <summary>
    /// Sequences (standardised copies of their features), texts or token lists (token ids over the vocabulary), split at
    /// random; with per-step labels, a label (and its prepared target) at every step.
    /// </summary>
    public static TrainingShape Sequences(DatasetSummary dataset, TrainingOptions training, long fileBytes)
    {
        var examples = (long)dataset.Rows;
        var validation = Math.Clamp((long)Math.Round(examples * training.ValidationFraction!.Value), 1, Math.Max(1, examples - 1));
        var steps = dataset.TotalSteps ?? examples * (dataset.MinLength + (long)dataset.MaxLength) / 2;
        var width = dataset.Labels?.Width ?? 1;
        var labels = dataset.Labels?.PerStep == true
            ? Sizes.Sum(Sizes.Product(examples, 2 * ArrayHeader), Sizes.Product(steps, 12L * width))
            : Sizes.Product(examples, ArrayHeader + 8 * width + 4 * width);
        if (dataset.Kind is DatasetKind.Texts or DatasetKind.Tokens)
        {
            // Every text's words at once while the vocabulary is counted (Parsed), then one token id (8 bytes) a word.
            var tokens = Sizes.Sum(Sizes.Product(examples, PerExample), Sizes.Product(8, steps), labels);
            return new TrainingShape(training.BatchSize!.Value, dataset.MaxLength, 8, examples - validation, validation, tokens,
                Sizes.Sum(Parsed(dataset, fileBytes), tokens));
        }
        long features = dataset.FeatureCount ?? 1;
        var data = Sizes.Sum(Sizes.Product(examples, PerExample), Sizes.Product(4, steps, features), labels);
        // The parsed sequences (Parsed) stay until their standardised copies are made.
        return new TrainingShape(training.BatchSize!.Value, dataset.MaxLength, 4 * features, examples - validation, validation, data,
            Sizes.Sum(Parsed(dataset, fileBytes), data));
    }
}
