using System.Text;
using RnnService.Domain.Datasets;

namespace RnnService.Training.Data;

public static class DatasetParser
{
    /// <summary>The format a file name implies: <c>.csv</c> or <c>.jsonl</c> (also <c>.ndjson</c>, <c>.json</c>); null when it implies none.</summary>
    public static DatasetFormat? FormatOf(string? fileName) => Path.GetExtension(fileName ?? "").ToLowerInvariant() switch
    {
        ".csv" => DatasetFormat.Csv,
        ".jsonl" or ".ndjson" or ".json" => DatasetFormat.Jsonl,
        _ => null,
    };

    /// <summary>Parses a whole dataset file (UTF-8), throwing <see cref="DatasetParseException"/> with every problem found.</summary>
    public static ParsedDataset Parse(Stream file, DatasetFormat format)
    {
        using var reader = new StreamReader(file, new UTF8Encoding(false, throwOnInvalidBytes: true), leaveOpen: true);
        try
        {
            return format == DatasetFormat.Csv ? CsvTimeSeriesParser.Parse(reader) : JsonLinesParser.Parse(reader);
        }
        catch (DecoderFallbackException)
        {
            throw new DatasetParseException(["the file is not UTF-8 text."]);
        }
    }

    public static ParsedDataset Parse(string path, DatasetFormat format)
    {
        using var file = File.OpenRead(path);
        return Parse(file, format);
    }
}
