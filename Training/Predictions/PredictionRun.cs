using System.Globalization;
using System.Text;
using System.Text.Json;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Predictions;
using RnnService.Training.Data;
using RnnService.Training.Engine;
using RnnService.Training.Storage;
using RnnService.Training.Tasks;
using RnnService.Training.Tasks.Forecast;
using RnnService.Training.Torch;

namespace RnnService.Training.Predictions;

/// <summary>
/// A prediction job's work: the model's answer for every series (forecasts: its last window) or every example of a
/// stored dataset, written in chunks to the results file with the served task's own preprocessing, as /predict answers.
/// After each chunk the file is flushed and its length recorded with the count done; a resumed job cuts the file back to
/// that length and goes on from there, so a row is written once whatever the worker's fate.
/// </summary>
public static class PredictionRun
{
    /// <summary>Series or examples prepared and run through the network at once.</summary>
    public const int ChunkSize = 256;

    public static string ResultsFileName(string jobId, bool forecast) => jobId + (forecast ? ".csv" : ".jsonl");

    /// <summary>
    /// Runs the job from <paramref name="resumeFrom"/>; <paramref name="report"/> records each chunk's progress (and throws
    /// when the job is no longer this worker's).
    /// </summary>
    public static PredictionProgress Run(
        ISequenceNetwork network, ServedTask served, PredictionJobRequest request, ParsedDataset dataset,
        string resultsPath, PredictionProgress? resumeFrom, Action<PredictionProgress> report, CancellationToken cancellationToken,
        int chunkSize = ChunkSize)
    {
        var forecast = served is ForecastServing;
        var items = forecast ? ForecastItems(dataset, request) : ExampleItems(dataset);
        var done = resumeFrom?.Done ?? 0;
        var rows = resumeFrom?.Rows ?? 0;
        Directory.CreateDirectory(Path.GetDirectoryName(resultsPath)!);
        using var file = new FileStream(resultsPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        file.SetLength(resumeFrom?.Bytes ?? 0);
        file.Position = file.Length;
        using var writer = new StreamWriter(file, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        var quantiles = (served as ForecastServing)?.Preprocessing.Quantiles ?? [];
        if (done == 0 && forecast)
            writer.WriteLine(string.Join(",", new[] { "series", "step", "time", "target", "forecast" }.Concat(quantiles.Select(q => "q" + Number(q)))));

        var targets = forecast ? ((ForecastServing)served).Preprocessing.Targets : [];
        while (done < items.Count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = items.GetRange(done, Math.Min(chunkSize, items.Count - done));
            var predict = forecast ? ForecastRequest(chunk, request, (ForecastServing)served, dataset) : ExampleRequest(chunk);
            var problems = served.Prepare(predict, int.MaxValue, out var prepared);
            if (problems.Count > 0)
                throw new PredictionJobException(
                    $"the {(forecast ? "series" : "examples")} from '{chunk[0].Name}' on (at most {chunk.Count}) cannot be read by the model: " +
                    $"{problems[0].Field} of them: {problems[0].Message}");
            var spec = network.Spec;
            var batch = spec.HasEmbedding
                ? SequenceBatch.FromTokens(prepared.Select(p => p.Tokens!).ToList())
                : SequenceBatch.FromFeatures(prepared.Select(p => p.Features!).ToList(), spec.InputSize);
            var result = network.Forward(batch);
            for (var i = 0; i < chunk.Count; i++)
            {
                var output = served.Output(result.Output(i), prepared[i], predict);
                rows += forecast ? WriteForecast(writer, chunk[i], output, targets, quantiles, dataset.Summary.Frequency)
                                 : WriteExample(writer, chunk[i], output);
            }
            writer.Flush();
            file.Flush(flushToDisk: true);
            done += chunk.Count;
            report(new PredictionProgress(done, items.Count, file.Length, rows));
        }
        return new PredictionProgress(done, items.Count, file.Length, rows);
    }

    /// <summary>One series (its window's end) or one example to predict.</summary>
    private sealed record Item(string Name, int Index, Series? Series, float[]? Steps, int FeatureCount, string? Text);

    private static List<Item> ForecastItems(ParsedDataset dataset, PredictionJobRequest request)
    {
        var all = dataset.TimeSeries?.Series ?? throw new PredictionJobException("the dataset holds no time series to forecast.");
        if (request.Series is not { Count: > 0 } wanted) return all.Select((s, i) => new Item(s.Name, i, s, null, 0, null)).ToList();
        var byName = all.Select((s, i) => (s, i)).ToDictionary(p => p.s.Name, p => p.i);
        var missing = wanted.Where(name => !byName.ContainsKey(name)).ToList();
        if (missing.Count > 0)
            throw new PredictionJobException($"series: {string.Join(", ", missing.Take(5).Select(n => $"'{n}'"))} {(missing.Count == 1 ? "is" : "are")} not in the dataset.");
        return wanted.Select(name => new Item(name, byName[name], all[byName[name]], null, 0, null)).ToList();
    }

    private static List<Item> ExampleItems(ParsedDataset dataset)
    {
        var labelled = dataset.Labelled ?? throw new PredictionJobException("the dataset holds no sequences or texts for this model.");
        if (labelled.Texts is { } texts) return texts.Select((t, i) => new Item(i.ToString(CultureInfo.InvariantCulture), i, null, null, 0, t)).ToList();
        if (labelled.Steps is { } steps)
            return steps.Select((s, i) => new Item(i.ToString(CultureInfo.InvariantCulture), i, null, s, labelled.FeatureCount, null)).ToList();
        throw new PredictionJobException("the dataset holds token lists; prediction jobs read sequences and texts (send token lists to /predict).");
    }

    private static PredictRequest ForecastRequest(List<Item> chunk, PredictionJobRequest request, ForecastServing served, ParsedDataset dataset)
    {
        var columns = dataset.TimeSeries!.Columns.ToList();
        var preprocessing = served.Preprocessing;
        if (preprocessing.KnownCount > 0)
            throw new PredictionJobException($"the model reads the known future of {string.Join(", ", preprocessing.KnownFeatures!)}, which a stored dataset does not hold; forecast it through /predict with future.");
        var features = preprocessing.Features.Select(name => columns.IndexOf(name)).ToArray();
        if (features.Contains(-1))
            throw new PredictionJobException($"the model reads {string.Join(", ", preprocessing.Features)}; the dataset's columns are {string.Join(", ", columns)}.");
        var window = preprocessing.InputLength;
        var inputs = new List<InputSequence>(chunk.Count);
        List<string>? starts = preprocessing.CalendarWidth > 0 ? new(chunk.Count) : null;
        foreach (var item in chunk)
        {
            var series = item.Series!;
            if (series.Length < window)
                throw new PredictionJobException($"series '{item.Name}' has {series.Length} steps; the model reads the last {window}.");
            var first = series.Length - window;
            var values = new float[window * features.Length];
            for (var t = 0; t < window; t++)
            for (var f = 0; f < features.Length; f++)
                values[t * features.Length + f] = (float)series.Values[features[f]][first + t];
            inputs.Add(new InputSequence(values, window, features.Length));
            if (starts is not null)
                starts.Add(series.Times?[first].ToString("O", CultureInfo.InvariantCulture)
                           ?? throw new PredictionJobException($"the model reads calendar features, but series '{item.Name}' has no times."));
        }
        return new PredictRequest { Inputs = new SequenceInputs(inputs, []), Horizon = request.Horizon, Starts = starts };
    }

    private static PredictRequest ExampleRequest(List<Item> chunk) => chunk[0].Text is not null
        ? new PredictRequest { Texts = chunk.Select(item => item.Text!).ToList() }
        : new PredictRequest
        {
            Inputs = new SequenceInputs(
                chunk.Select(item => new InputSequence(item.Steps!, item.Steps!.Length / Math.Max(1, item.FeatureCount), item.FeatureCount)).ToList(), []),
        };

    private static long WriteForecast(
        StreamWriter writer, Item item, PredictOutput output, IReadOnlyList<string> targets, double[] quantiles, string? frequency)
    {
        var forecast = output.Forecast!;
        var series = item.Series!;
        var last = series.Times is { Length: > 0 } times ? times[^1] : (DateTimeOffset?)null;
        var line = new StringBuilder();
        for (var h = 0; h < forecast.Length; h++)
        {
            var time = last is { } end && frequency is not null ? TimeFrequency.Add(end, frequency, h + 1).ToString("O", CultureInfo.InvariantCulture) : "";
            for (var k = 0; k < targets.Count; k++)
            {
                line.Clear().Append(Csv(item.Name)).Append(',').Append(h + 1).Append(',').Append(time).Append(',').Append(Csv(targets[k]))
                    .Append(',').Append(Number(forecast[h][k]));
                foreach (var q in quantiles) line.Append(',').Append(Number(output.Quantiles![ForecastServing.QuantileKey(q)][h][k]));
                writer.WriteLine(line);
            }
        }
        return (long)forecast.Length * targets.Count;
    }

    private static long WriteExample(StreamWriter writer, Item item, PredictOutput output)
    {
        var line = JsonSerializer.SerializeToNode(output, StoredJson.Options)!.AsObject();
        line.Insert(0, "index", item.Index);
        writer.WriteLine(line.ToJsonString(StoredJson.Options));
        return 1;
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Csv(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) < 0 ? text : "\"" + text.Replace("\"", "\"\"") + "\"";
}

/// <summary>A prediction job that cannot run as asked (a series missing, too short): it fails with this message.</summary>
public sealed class PredictionJobException(string message) : Exception(message);
