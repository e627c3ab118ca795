using System.ComponentModel;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RnnService.Api.Inference;
using RnnService.Api.Infrastructure;
using RnnService.Domain.Datasets;
using RnnService.Domain.Predictions;
using RnnService.Domain.Validation;
using RnnService.Training.Data;
using RnnService.Training.Registry;
using RnnService.Training.Storage;
using RnnService.Training.Tasks.Forecast;

namespace RnnService.Api.Models;

/// <summary>
/// A hidden-state pattern to look for in a version's own dataset (LSTMVis's match view, Strobelt et al. 2018): the units
/// that were on over a selected range of some input.
/// </summary>
public sealed record StateMatchRequest
{
    [Description("The top layer's units that are on over the selected range (indices into the hidden state).")]
    public IReadOnlyList<int>? Units { get; init; }

    [Description("A unit is on at a step when its activation is above this. Default 0.3.")]
    public double? Threshold { get; init; }

    [Description("The selected range's length in steps: matches of about this length score higher. Default 3.")]
    public int? Length { get; init; }

    [Description("`forward` (default) or, for bidirectional models, `backward`: which direction's states the units are of.")]
    public string? Direction { get; init; }

    [Description("Most matches to return, best first. Default 10, at most 50.")]
    public int? Limit { get; init; }

    [Description("Most of the dataset's sequences to search, from its start (time series: input-length windows). " +
                 "Default and most: Inference:MaxMatchSequences; the steps searched are capped by Inference:MaxMatchSteps.")]
    public int? MaxSequences { get; init; }
}

/// <summary>One range of the dataset where the selected units are on together.</summary>
/// <param name="Sequence">The dataset's example (or, for time series, window) index.</param>
/// <param name="Series">Time series: the series' name.</param>
/// <param name="Start">First step of the range, in the sequence.</param>
/// <param name="End">One past its last step.</param>
/// <param name="Score">Mean over the range's steps of the Jaccard similarity of the selected units and the units on,
/// scaled down as the range's length moves away from the selection's.</param>
/// <param name="ContextStart">Step of <paramref name="Steps"/>' first entry: the range with up to five steps either side.</param>
/// <param name="Steps">Each step of the context: its token, or its values.</param>
public sealed record StateMatch(
    int Sequence, string? Series, int Start, int End, double Score, int ContextStart, IReadOnlyList<string> Steps);

public sealed record StateMatchResponse(
    string Model, int Version, string DatasetId, int SearchedSequences, long SearchedSteps, bool Truncated, IReadOnlyList<StateMatch> Matches);

public static class StateMatches
{
    private const int Context = 5, MaxLimit = 50, BatchSteps = 16_384;

    public static async Task<Results<Ok<StateMatchResponse>, ValidationProblem, ProblemHttpResult>> FindAsync(
        string name, int version, HttpRequest request, IOptions<InferenceOptions> options, ModelRegistry registry, ModelCache cache,
        IDbContextFactory<RnnDbContext> contexts, FileStore files, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        var (body, invalid, failed) = await RequestBodies.ReadJsonAsync<StateMatchRequest>(request, 1 << 20, cancellationToken);
        if (invalid is not null) return invalid;
        if (failed is not null) return failed;
        body ??= new StateMatchRequest();

        var record = await registry.FindAsync(name, version, cancellationToken);
        if (record is null) return Problems.NotFound($"model '{name}' has no version {version}.");
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var datasetId = record.SourceJobId is { } job
            ? await context.TrainingJobs.AsNoTracking().Where(j => j.Id == job).Select(j => j.DatasetId).SingleOrDefaultAsync(cancellationToken)
            : record.SourceTuningJobId is { } tuning
                ? await context.TuningJobs.AsNoTracking().Where(t => t.Id == tuning).Select(t => t.DatasetId).SingleOrDefaultAsync(cancellationToken)
                : null;
        if (datasetId is null) return Problems.Conflict($"{name}:{version} was imported: it has no dataset of its own to search.");
        var dataset = await context.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == datasetId, cancellationToken);
        if (dataset is null) return Problems.Conflict($"dataset {datasetId}, which {name}:{version} was trained on, has been deleted.");

        using var lease = await cache.AcquireAsync(record, cancellationToken);
        var model = lease.Model;
        var spec = model.Model.Spec;
        var errors = new List<ValidationError>();
        var units = body.Units ?? [];
        if (units.Count == 0) errors.Add(new("units", "is required: the indices of at least one unit of the top layer."));
        else if (units.FirstOrDefault(u => u < 0 || u >= spec.HiddenSize) is var bad && (bad < 0 || bad >= spec.HiddenSize))
            errors.Add(new("units", $"unit {bad} is not one of the model's {spec.HiddenSize} (0 … {spec.HiddenSize - 1})."));
        else if (units.Distinct().Count() != units.Count) errors.Add(new("units", "lists a unit more than once."));
        var threshold = body.Threshold ?? 0.3;
        if (!double.IsFinite(threshold) || threshold is < -1 or > 1) errors.Add(new("threshold", $"must be from -1 to 1 (activations are in that range), got {threshold}."));
        var length = body.Length ?? 3;
        if (length is < 1 or > 10_000) errors.Add(new("length", $"must be from 1 to 10000, got {length}."));
        var limit = body.Limit ?? 10;
        if (limit is < 1 or > MaxLimit) errors.Add(new("limit", $"must be from 1 to {MaxLimit}, got {limit}."));
        var most = body.MaxSequences ?? limits.MaxMatchSequences;
        if (most < 1 || most > limits.MaxMatchSequences)
            errors.Add(new("maxSequences", $"must be from 1 to {limits.MaxMatchSequences} (Inference:MaxMatchSequences), got {most}."));
        var backward = body.Direction?.ToLowerInvariant() switch
        {
            null or "forward" => false,
            "backward" when spec.Bidirectional => true,
            "backward" => Fail("is backward, but the model reads one way only.", errors),
            var other => Fail($"'{other}' is not forward or backward.", errors),
        };
        if (errors.Count > 0) return Problems.Validation(errors);

        // The dataset as the model's inputs, cut to the budget before anything runs.
        // A large dataset is read only as far as Inference:MaxMatchDatasetBytes (whole lines): the search is of its start.
        var (parsed, partial) = await Task.Run(() => Read(files.DatasetPath(dataset.FileName), dataset.Format, limits.MaxMatchDatasetBytes), cancellationToken);
        // Items are made as they are taken: the rest of the dataset is never copied or tokenised.
        var taken = new List<SearchItem>();
        long steps = 0;
        var truncated = partial;
        foreach (var item in Inputs(parsed, model.Task is ForecastServing ? record : null, Math.Min(limits.MaxStepsPerSequence, limits.MaxMatchSteps)))
        {
            if (taken.Count == most || steps + item.Length > limits.MaxMatchSteps)
            {
                truncated = true;
                break;
            }
            taken.Add(item);
            steps += item.Length;
        }

        var selected = units.ToHashSet();
        var width = spec.Bidirectional ? 2 * spec.HiddenSize : spec.HiddenSize;
        var offset = backward ? spec.HiddenSize : 0;
        var found = new List<StateMatch>();
        for (var first = 0; first < taken.Count;)
        {
            // Batches of about BatchSteps steps: the states a batch returns stay small, whatever the dataset.
            var count = 0;
            for (long batchSteps = 0; first + count < taken.Count && (count == 0 || batchSteps + taken[first + count].Length <= BatchSteps); count++)
                batchSteps += taken[first + count].Length;
            var batch = taken.GetRange(first, count);
            var problems = model.Task.Prepare(Request(batch), limits.MaxStepsPerSequence, out var prepared);
            if (problems.Count > 0)
                return Problems.Conflict($"the dataset's item {batch[0].Index} does not fit the model: {problems[0].Field} {problems[0].Message}");
            var results = await model.Batcher.RunAsync(prepared, true, cancellationToken);
            for (var i = 0; i < batch.Count; i++)
                found.AddRange(Runs(batch[i], results[i].States!, prepared[i].Length, width, offset, spec.HiddenSize, selected, threshold, length));
            first += count;
        }
        var best = found.OrderByDescending(m => m.Score).ThenBy(m => m.Sequence).ThenBy(m => m.Start).Take(limit).ToArray();
        return TypedResults.Ok(new StateMatchResponse(record.Name, record.Version, datasetId, taken.Count, steps, truncated, best));
    }

    /// <summary>The dataset, or its first <paramref name="most"/> bytes cut at the last line's end (true: cut).</summary>
    private static (ParsedDataset Parsed, bool Partial) Read(string path, DatasetFormat format, long most)
    {
        if (new FileInfo(path).Length <= most) return (DatasetParser.Parse(path, format), false);
        var bytes = new byte[most];
        using (var file = File.OpenRead(path)) file.ReadExactly(bytes);
        var end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        using var prefix = new MemoryStream(bytes, 0, end);
        return (DatasetParser.Parse(prefix, format), true);
    }

    private static bool Fail(string message, List<ValidationError> errors)
    {
        errors.Add(new("direction", message));
        return false;
    }

    /// <summary>
    /// The ranges of one sequence where every selected unit is on, scored by how much only they are on (the mean Jaccard
    /// similarity of the selected set and the step's set of on units) and by how close the range's length is to the selection's.
    /// </summary>
    private static IEnumerable<StateMatch> Runs(
        SearchItem item, float[] states, int steps, int width, int offset, int hidden, HashSet<int> selected, double threshold, int length)
    {
        var start = -1;
        double similarity = 0;
        for (var t = 0; t <= steps; t++)
        {
            var all = t < steps;
            var on = 0;
            if (all)
            {
                foreach (var unit in selected)
                    if (states[t * width + offset + unit] <= threshold) { all = false; break; }
            }
            if (all)
            {
                for (var u = 0; u < hidden; u++) if (states[t * width + offset + u] > threshold) on++;
                if (start < 0) { start = t; similarity = 0; }
                similarity += selected.Count / (double)on;
                continue;
            }
            if (start < 0) continue;
            var span = t - start;
            var score = similarity / span * Math.Exp(-Math.Abs(span - length) / (double)Math.Max(length, 1));
            var from = Math.Max(0, start - Context);
            var to = Math.Min(steps, t + Context);
            yield return new StateMatch(item.Index, item.Series, start, t, Math.Round(score, 6), from,
                Enumerable.Range(from, to - from).Select(item.Describe).ToArray());
            start = -1;
        }
    }

    private static PredictRequest Request(List<SearchItem> batch) => new()
    {
        Texts = batch[0].Text is null ? null : batch.Select(i => i.Text!).ToArray(),
        Tokens = batch[0].Tokens is null ? null : batch.Select(i => (IReadOnlyList<string>)i.Tokens!).ToArray(),
        Inputs = batch[0].Values is null ? null : new SequenceInputs(batch.Select(i => i.Values!).ToArray(), []),
        Future = batch[0].Future is null ? null : new SequenceInputs(batch.Select(i => i.Future!).ToArray(), []),
        Starts = batch[0].Start is null ? null : batch.Select(i => i.Start!).ToArray(),
    };

    /// <summary>
    /// Each example of a labelled dataset (at most <paramref name="maxSteps"/> steps of it); for a forecast model, its
    /// series cut into windows of its input length, with the known future and the start time that it reads.
    /// </summary>
    private static IEnumerable<SearchItem> Inputs(ParsedDataset parsed, ModelVersionRecord? forecast, int maxSteps)
    {
        if (forecast is not null && parsed.TimeSeries is { } data)
        {
            var pre = StoredJson.Read<ForecastPreprocessing>(forecast.Preprocessing);
            var columns = pre.Features.Concat(pre.KnownFeatures ?? []).Select(data.ColumnIndex).ToArray();
            var known = (pre.KnownFeatures ?? []).Select(data.ColumnIndex).ToArray();
            var index = 0;
            foreach (var series in data.Series)
            {
                for (var start = 0; start + pre.InputLength + (known.Length > 0 ? pre.Horizon : 0) <= series.Length; start += pre.InputLength)
                {
                    var values = new float[pre.InputLength * columns.Length];
                    for (var t = 0; t < pre.InputLength; t++)
                        for (var c = 0; c < columns.Length; c++) values[t * columns.Length + c] = (float)series.Values[columns[c]][start + t];
                    InputSequence? future = null;
                    if (known.Length > 0)
                    {
                        var next = new float[pre.Horizon * known.Length];
                        for (var h = 0; h < pre.Horizon; h++)
                            for (var k = 0; k < known.Length; k++) next[h * known.Length + k] = (float)series.Values[known[k]][start + pre.InputLength + h];
                        future = new InputSequence(next, pre.Horizon, known.Length);
                    }
                    var at = series.Times?[start].UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
                    var from = start;
                    yield return new SearchItem(index++, series.Name, pre.InputLength, null, null, new InputSequence(values, pre.InputLength, columns.Length), future, at,
                        // A model that reads the known future runs over the horizon's steps too: past the series' end there is nothing to show.
                        t => from + t < series.Length
                            ? string.Join(" ", columns.Select(c => series.Values[c][from + t].ToString("G6", CultureInfo.InvariantCulture)))
                            : "…");
                }
            }
            yield break;
        }
        var labelled = parsed.Labelled ?? throw new InvalidOperationException("a time series dataset for a model that is not a forecaster");
        for (var i = 0; i < labelled.Count; i++)
        {
            if (labelled.Texts is { } texts)
            {
                var tokens = Tokenizer.Tokenize(texts[i]).Take(maxSteps).ToArray();
                if (tokens.Length == 0) continue;
                yield return new SearchItem(i, null, tokens.Length, string.Join(" ", tokens), null, null, null, null, t => tokens[t]);
            }
            else if (labelled.Tokens is { } lists)
            {
                var tokens = lists[i].Take(maxSteps).ToArray();
                yield return new SearchItem(i, null, tokens.Length, null, tokens, null, null, null, t => tokens[t]);
            }
            else
            {
                var width = labelled.FeatureCount;
                var steps = Math.Min(maxSteps, labelled.LengthOf(i));
                var values = labelled.Steps![i].AsSpan(0, steps * width).ToArray();
                yield return new SearchItem(i, null, steps, null, null, new InputSequence(values, steps, width), null, null,
                    t => string.Join(" ", values.Skip(t * width).Take(width).Select(v => v.ToString("G6", CultureInfo.InvariantCulture))));
            }
        }
    }

    private sealed record SearchItem(
        int Index, string? Series, int Length, string? Text, string[]? Tokens, InputSequence? Values, InputSequence? Future, string? Start,
        Func<int, string> Describe);
}
