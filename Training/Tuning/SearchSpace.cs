using System.Text.Json;
using System.Text.Json.Nodes;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Validation;
using RnnService.Training.Storage;

namespace RnnService.Training.Tuning;

/// <summary>
/// A search space: which fields of a training request a tuning job varies and over what ranges; the default space of
/// each task kind; the checks a space must pass; and a trial's request, the shared request with its values put in.
/// </summary>
public static class SearchSpace
{
    /// <summary>Fields a search may vary, by path, and whether each takes numbers.</summary>
    private static readonly Dictionary<string, bool> Fields = new(StringComparer.Ordinal)
    {
        ["model.cell"] = false, ["model.hiddenSize"] = true, ["model.numLayers"] = true, ["model.bidirectional"] = false,
        ["model.dropout"] = true, ["model.embeddingDim"] = true, ["model.embeddingDropout"] = true, ["model.pooling"] = false,
        ["training.epochs"] = true, ["training.batchSize"] = true, ["training.learningRate"] = true,
        ["training.gradientClipNorm"] = true, ["training.earlyStoppingPatience"] = true, ["training.seed"] = true,
        ["task.inputLength"] = true, ["task.scaling"] = false,
    };

    public static string FieldList => string.Join(", ", Fields.Keys);

    /// <summary>
    /// The kind's default space, after Nixtla's AutoLSTM/AutoGRU: hidden size {16, 32, 64, 128}, 1–3 layers, dropout
    /// 0–0.5, a log-uniform learning rate in [1e-4, 1e-1], batch size {16, 32}; a forecast's window in whole seasons (or
    /// horizons) from one to four, as far as the data allows; the pooling for classification and regression.
    /// </summary>
    public static Dictionary<string, ParameterRange> Default(TaskOptions task, Func<int, bool> windowFits)
    {
        var space = new Dictionary<string, ParameterRange>(StringComparer.Ordinal)
        {
            ["model.hiddenSize"] = Choice(16, 32, 64, 128),
            ["model.numLayers"] = new() { Int = [1, 3] },
            ["model.dropout"] = new() { Uniform = [0, 0.5] },
            ["training.learningRate"] = new() { LogUniform = [1e-4, 1e-1] },
            ["training.batchSize"] = Choice(16, 32),
        };
        if (task.Kind == TaskKind.Forecast)
        {
            var unit = task.Season is > 1 ? task.Season.Value : task.Horizon!.Value;
            var windows = Enumerable.Range(1, 4).Select(n => n * unit).Where(windowFits).ToArray();
            if (windows.Length > 1) space["task.inputLength"] = Choice(windows);
        }
        else if (task.Kind is TaskKind.Classification or TaskKind.Regression)
            space["model.pooling"] = new() { Choice = new[] { "last", "mean", "attention" }.Select(p => JsonSerializer.SerializeToElement(p)).ToList() };
        return space;
    }

    private static ParameterRange Choice(params int[] values) => new() { Choice = values.Select(v => JsonSerializer.SerializeToElement(v)).ToList() };

    /// <summary>
    /// The shape of each range: a field the search may vary, exactly one kind of range, a choice that is not empty, two
    /// finite bounds low ≤ high (whole numbers for <c>int</c>, above zero for <c>logUniform</c>), numbers for fields that
    /// take them. Errors name <c>search.space.{field}</c>.
    /// </summary>
    public static void CheckShape(IReadOnlyDictionary<string, ParameterRange> space, List<ValidationError> errors)
    {
        if (space.Count == 0) errors.Add(new("search.space", "is empty; name at least one field, or leave space out for the task's default."));
        if (space.Count > 32) errors.Add(new("search.space", $"names {space.Count} fields; at most 32 are allowed."));
        foreach (var (path, range) in space)
        {
            var field = $"search.space.{path}";
            if (!Fields.TryGetValue(path, out var numeric))
            {
                var close = Fields.Keys.FirstOrDefault(known => Close(known, path));
                errors.Add(new(field, $"is not a field a search can vary{(close is null ? "" : $" (did you mean {close}?)")}: {FieldList}."));
                continue;
            }
            var kinds = new object?[] { range.Choice, range.Int, range.Uniform, range.LogUniform }.Count(r => r is not null);
            if (kinds != 1)
            {
                errors.Add(new(field, "give exactly one of choice, int, uniform or logUniform."));
                continue;
            }
            if (range.Choice is { } choice)
            {
                if (choice.Count == 0) errors.Add(new(field, "choice is empty; give at least one value."));
                else if (choice.Count > 100) errors.Add(new(field, $"choice holds {choice.Count} values; at most 100 are allowed."));
                else if (choice.Distinct(JsonElementComparer.Instance).Count() != choice.Count) errors.Add(new(field, "choice repeats a value."));
                continue;
            }
            var (name, bounds) = range.Int is { } i ? ("int", i) : range.Uniform is { } u ? ("uniform", u) : ("logUniform", range.LogUniform!);
            if (!numeric)
                errors.Add(new(field, $"takes names, not numbers: give a choice, not {name}."));
            else if (bounds.Count != 2)
                errors.Add(new(field, $"{name} takes two numbers, [low, high]; got {bounds.Count}."));
            else if (!double.IsFinite(bounds[0]) || !double.IsFinite(bounds[1]))
                errors.Add(new(field, $"{name} bounds must be finite numbers."));
            else if (bounds[0] > bounds[1])
                errors.Add(new(field, $"{name} [{bounds[0]}, {bounds[1]}] is inverted: low must not be above high."));
            else if (name == "int" && (bounds[0] != Math.Floor(bounds[0]) || bounds[1] != Math.Floor(bounds[1])))
                errors.Add(new(field, $"int bounds must be whole numbers, got [{bounds[0]}, {bounds[1]}]."));
            else if (name == "logUniform" && bounds[0] <= 0)
                errors.Add(new(field, $"logUniform [{bounds[0]}, {bounds[1]}] must lie above zero (its logarithm is sampled); use uniform to include zero."));
        }
    }

    /// <summary>The values a range's checks try: each choice, or the two bounds.</summary>
    public static IEnumerable<JsonElement> Extremes(ParameterRange range) =>
        range.Choice ?? (range.Int ?? range.Uniform ?? range.LogUniform)!.Select(bound => range.Int is not null
            ? JsonSerializer.SerializeToElement((long)bound)
            : JsonSerializer.SerializeToElement(bound));

    /// <summary>
    /// A trial's training request: the shared task, model and training, with each parameter put at its path. Throws
    /// <see cref="JsonException"/> when a value does not fit its field (a name where a number goes).
    /// </summary>
    public static TrainingJobRequest Apply(TuningJobRequest shared, IReadOnlyDictionary<string, JsonElement> parameters)
    {
        var root = new JsonObject
        {
            ["datasetId"] = shared.DatasetId,
            ["modelName"] = shared.ModelName,
            ["task"] = JsonSerializer.SerializeToNode(shared.Task ?? new TaskOptions(), StoredJson.Options),
            ["model"] = JsonSerializer.SerializeToNode(shared.Model ?? new ModelOptions(), StoredJson.Options),
            ["training"] = JsonSerializer.SerializeToNode(shared.Training ?? new TrainingOptions(), StoredJson.Options),
        };
        foreach (var (path, value) in parameters)
        {
            var dot = path.IndexOf('.');
            root[path[..dot]]![path[(dot + 1)..]] = JsonNode.Parse(value.GetRawText());
        }
        return root.Deserialize<TrainingJobRequest>(StoredJson.Options)!;
    }

    private static bool Close(string known, string path)
    {
        var a = known.ToLowerInvariant();
        var b = path.ToLowerInvariant();
        if (a == b || a.EndsWith("." + b, StringComparison.Ordinal)) return true;
        // One edit apart (a letter missing, extra or changed).
        if (Math.Abs(a.Length - b.Length) > 1) return false;
        int i = 0, j = 0, edits = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] == b[j]) { i++; j++; continue; }
            if (++edits > 1) return false;
            if (a.Length > b.Length) i++;
            else if (b.Length > a.Length) j++;
            else { i++; j++; }
        }
        return edits + (a.Length - i) + (b.Length - j) <= 1;
    }

    private sealed class JsonElementComparer : IEqualityComparer<JsonElement>
    {
        public static readonly JsonElementComparer Instance = new();

        public bool Equals(JsonElement x, JsonElement y) => JsonElement.DeepEquals(x, y);

        public int GetHashCode(JsonElement element) => element.ValueKind.GetHashCode();
    }
}
