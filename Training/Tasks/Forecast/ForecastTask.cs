using System.Text.Json;
using RnnService.Domain.Budgets;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;

namespace RnnService.Training.Tasks.Forecast;

/// <summary>
/// Forecasting a time series: windows of <c>inputLength</c> steps of the features predict the next <c>horizon</c> steps of
/// the targets; window scaling by default; metrics in the data's own scale against the seasonal-naive forecast.
/// </summary>
public sealed class ForecastTask : SequenceTask
{
    public const int DefaultInputLength = 24;

    public override TaskKind Kind => TaskKind.Forecast;

    public override TaskOptions? Resolve(TaskOptions task, DatasetSummary dataset, TrainingOptions training, List<ValidationError> errors)
    {
        if (dataset.Kind != DatasetKind.TimeSeries)
        {
            errors.Add(new("task.kind", $"forecast needs a time-series (CSV) dataset; this one holds {Describe(dataset.Kind)}."));
            return null;
        }
        var columns = dataset.Columns ?? [];
        var known = task.KnownFeatures ?? [];
        var targets = task.Targets ?? columns.Where(column => !known.Contains(column)).ToList();
        var features = task.Features ?? targets;
        var before = errors.Count;
        if (targets.Count == 0) errors.Add(new("task.targets", "must name at least one column."));
        CheckColumns("task.targets", targets, columns, errors);
        CheckColumns("task.features", features, columns, errors);
        CheckColumns("task.knownFeatures", known, columns, errors);
        for (var i = 0; i < targets.Count; i++)
        {
            if (columns.Contains(targets[i]) && !features.Contains(targets[i]))
                errors.Add(new($"task.targets[{i}]", $"'{targets[i]}' must also be a feature: the model forecasts from its history."));
        }
        for (var i = 0; i < known.Count; i++)
        {
            if (targets.Contains(known[i]))
                errors.Add(new($"task.knownFeatures[{i}]", $"'{known[i]}' is a target; a column whose future is known is not forecast."));
            else if (features.Contains(known[i]))
                errors.Add(new($"task.knownFeatures[{i}]", $"'{known[i]}' is also in task.features; name it once: known features are read over the window too."));
        }
        var calendar = task.CalendarFeatures ?? CalendarChoice.Auto;
        if (task.CalendarFeatures == CalendarChoice.Auto && dataset.Frequency is null)
            errors.Add(new("task.calendarFeatures", dataset.TimeColumn is null
                ? "needs a time column of dates; this dataset has none (use none)."
                : $"needs a regular frequency (hourly, daily, weekly, monthly, quarterly or yearly); the dates in '{dataset.TimeColumn}' keep none (use none)."));
        if (dataset.Frequency is null) calendar = CalendarChoice.None;
        var quantiles = ResolveQuantiles(task.Quantiles, errors);

        var horizon = task.Horizon ?? 1;
        var shortest = dataset.MinLength;
        var fraction = training.ValidationFraction is > 0 and < 1 ? training.ValidationFraction.Value : 0.2;
        var detected = task.Season ?? dataset.Season ?? 1;
        var inputLength = task.InputLength ?? DefaultWindow(detected, shortest - ForecastSplit.HeldOutSteps(shortest, horizon, fraction), horizon);
        // A detected season longer than the window is not used; a season asked for is checked.
        var season = task.Season ?? (detected <= inputLength ? detected : 1);
        if (horizon < 1 || horizon > 10_000)
            errors.Add(new("task.horizon", $"must be between 1 and 10000, got {horizon}."));
        else if (horizon >= shortest)
            errors.Add(new("task.horizon", $"{horizon} steps do not fit the shortest series ({shortest} steps) with any input."));
        if (inputLength < 1 || inputLength > 100_000)
            errors.Add(new("task.inputLength", $"must be between 1 and 100000, got {inputLength}."));
        else if (horizon >= 1 && horizon < shortest && inputLength + horizon > shortest)
            errors.Add(new("task.inputLength",
                $"inputLength + horizon = {inputLength + horizon} is longer than the shortest series ({shortest} steps)."));
        else if (horizon >= 1 && horizon < shortest && training.ValidationFraction is > 0 and < 1)
        {
            // Every series gives its end to validation; the longest must still leave a training window.
            var longest = dataset.MaxLength;
            var held = ForecastSplit.HeldOutSteps(longest, horizon, training.ValidationFraction.Value);
            if (longest - held < inputLength + horizon)
                errors.Add(new("task.inputLength",
                    $"after holding out the last {held} steps for validation, the longest series ({longest} steps) leaves no " +
                    $"training window of inputLength + horizon = {inputLength + horizon} steps; shorten them or lower training.validationFraction."));
        }
        if (season < 1 || season > inputLength)
            errors.Add(new("task.season", $"must be between 1 and inputLength ({inputLength}), got {season}."));
        if (task.VocabularySize is not null)
            errors.Add(new("task.vocabularySize", "applies to text datasets only."));
        if (errors.Count > before) return null;
        return task with
        {
            Targets = targets, Features = features, InputLength = inputLength, Horizon = horizon,
            Scaling = task.Scaling ?? (season > 1 ? ScalingKind.Seasonal : ScalingKind.Window), Season = season,
            Quantiles = quantiles, KnownFeatures = known.Count > 0 ? known : null, CalendarFeatures = calendar,
        };
    }

    /// <summary>
    /// The default window: two seasons and at least <see cref="DefaultInputLength"/> steps. For a seasonal series, as
    /// much of that as leaves one training window in the shortest series' training part (<paramref name="trainingSteps"/>):
    /// seasonal scaling measures forecasts from the window's seasons averaged, steadier over two than over one, and what
    /// the network learns from few windows only counts when it beats that forecast clearly on validation (in the
    /// rolling-origin backtest this took the 72-month series' MASE from 1.13 to 0.92 and 0.51 to 0.54, mean 0.77 to
    /// 0.75). Without a season, no longer than leaves as many training windows as it is long.
    /// </summary>
    private static int DefaultWindow(int season, int trainingSteps, int horizon)
    {
        var wanted = Math.Max(DefaultInputLength, 2 * season);
        var fits = trainingSteps - horizon;
        if (season > 1) return Math.Max(1, Math.Min(wanted, fits));
        return Math.Max(1, Math.Min(wanted, fits / 2));
    }

    /// <summary>Quantile levels in (0, 1), ascending and distinct as sent, with the median added (it is the forecast).</summary>
    private static IReadOnlyList<double>? ResolveQuantiles(IReadOnlyList<double>? levels, List<ValidationError> errors)
    {
        if (levels is null) return null;
        if (levels.Count == 0)
        {
            errors.Add(new("task.quantiles", "is empty; give levels such as [0.1, 0.5, 0.9], or leave it out for a point forecast."));
            return null;
        }
        if (levels.Count > 99) errors.Add(new("task.quantiles", $"holds {levels.Count} levels; at most 99 are allowed."));
        for (var i = 0; i < levels.Count; i++)
        {
            if (!(levels[i] > 0 && levels[i] < 1))
                errors.Add(new($"task.quantiles[{i}]", $"{levels[i].ToString(System.Globalization.CultureInfo.InvariantCulture)} is not between 0 and 1 (both excluded)."));
            else if (i > 0 && levels[i] <= levels[i - 1])
                errors.Add(new($"task.quantiles[{i}]", levels[i] == levels[i - 1]
                    ? $"repeats {levels[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}; give each level once."
                    : "is below the level before it; give the levels in ascending order."));
        }
        return levels.Contains(0.5) ? levels : levels.Append(0.5).Order().ToList();
    }

    public override NetworkShape Network(TaskOptions task, DatasetSummary dataset)
    {
        var layout = Layout(task, dataset);
        return new(layout.NetworkWidth, 0, task.Horizon!.Value * task.Targets!.Count * layout.OutputsPerValue);
    }

    /// <summary>The preprocessing a resolved task will have on the dataset, without the statistics training measures.</summary>
    private static ForecastPreprocessing Layout(TaskOptions task, DatasetSummary dataset)
    {
        var calendar = ForecastPreprocessing.CalendarOf(task, dataset);
        return new ForecastPreprocessing(task.Scaling!.Value, task.Features!, task.Targets!, task.InputLength!.Value, task.Horizon!.Value,
            task.Season!.Value, [], [])
        {
            KnownFeatures = task.KnownFeatures, Calendar = calendar.Count > 0 ? calendar : null, Frequency = dataset.Frequency,
            Quantiles = task.Quantiles?.ToArray(),
        };
    }

    public override string FieldOf(string specField, DatasetSummary dataset) => specField switch
    {
        "outputSize" => "task.horizon",
        _ => "task.features",
    };

    public override TrainingShape Budget(DatasetSummary dataset, TaskOptions task, TrainingOptions training, long datasetBytes)
    {
        var layout = Layout(task, dataset);
        return TrainingShapes.Forecast(dataset, task, training, datasetBytes, layout.NetworkWidth,
            task.InputLength!.Value + (layout.ReadsFuture ? task.Horizon!.Value : 0), layout.OutputsPerValue);
    }

    public override IReadOnlyList<string> MemoryFields(EstimatePart largest) => largest switch
    {
        EstimatePart.Step => ["training.batchSize", "task.inputLength"],
        EstimatePart.Validation => ["task.inputLength", "model.hiddenSize"],
        _ => ["task.inputLength"],
    };

    public override TaskPipeline Prepare(ParsedDataset data, TaskOptions task, TrainingOptions training) =>
        ForecastPipeline.Create(data.TimeSeries!, data.Summary, task, training);

    public override ServedTask Serve(ModelSpec spec, TaskOptions task, string preprocessingJson) =>
        new ForecastServing(spec, StoredJson.Read<ForecastPreprocessing>(preprocessingJson));

    public override ImportPlan? PlanImport(ModelSpec spec, JsonElement? preprocessing, List<ValidationError> errors)
    {
        if (preprocessing is not { ValueKind: JsonValueKind.Object } json)
        {
            errors.Add(new("spec.preprocessing", "is required for forecast models: scaling, features, targets, horizon (and mean, std)."));
            return null;
        }
        ForecastPreprocessing? read = null;
        try
        {
            read = json.Deserialize<ForecastPreprocessing>(StoredJson.Options);
        }
        catch (JsonException exception)
        {
            errors.Add(new("spec.preprocessing", $"is not a forecast preprocessing (features and targets are lists of names): {exception.Message}"));
        }
        if (read is null) return null;
        var features = read.Features ?? [];
        var targets = read.Targets ?? [];
        if (spec.HasEmbedding) errors.Add(new("weights", "a forecast model reads numbers; these weights have an embedding."));
        var known = read.KnownFeatures ?? [];
        var calendar = read.Calendar ?? [];
        var validCalendar = calendar.All(CalendarFeatures.All.Contains);
        if (!validCalendar)
            errors.Add(new("spec.preprocessing.calendar", $"names features other than {string.Join(", ", CalendarFeatures.All)}."));
        else if (calendar.Count > 0 && !TimeFrequency.All.Contains(read.Frequency ?? ""))
            errors.Add(new("spec.preprocessing.frequency", $"is required with calendar features: one of {string.Join(", ", TimeFrequency.All)}."));
        var width = validCalendar ? read.NetworkWidth : -1;
        if (validCalendar && width != spec.InputSize)
            errors.Add(new("spec.preprocessing.features", $"{features.Count} features, {known.Count} known features and {read.CalendarWidth} calendar values " +
                                                          $"{(read.ReadsFuture ? "and the future flag " : "")}make {width} per step, but rnn.weight_ih_l0 reads {spec.InputSize}."));
        if (targets.Count == 0 || targets.Any(t => !features.Contains(t)))
            errors.Add(new("spec.preprocessing.targets", "must name one or more of the features."));
        if (read.Quantiles is { } levels)
        {
            if (levels.Length == 0 || levels.Any(level => !(level > 0 && level < 1)) || levels.Zip(levels.Skip(1)).Any(pair => pair.Second <= pair.First) || !levels.Contains(0.5))
                errors.Add(new("spec.preprocessing.quantiles", "must be distinct levels in (0, 1), ascending, with 0.5 among them."));
            else if (read.QuantileShifts is { } shifts && (shifts.Length != levels.Length || shifts.Any(shift => !double.IsFinite(shift))))
                errors.Add(new("spec.preprocessing.quantileShifts", $"must hold a finite number for each of the {levels.Length} quantiles."));
        }
        else if (read.QuantileShifts is not null)
            errors.Add(new("spec.preprocessing.quantileShifts", "applies to models with quantiles only."));
        if (read.Horizon < 1) errors.Add(new("spec.preprocessing.horizon", "must be at least 1."));
        else if (targets.Count > 0 && read.Horizon * targets.Count * read.OutputsPerValue != spec.OutputSize)
            errors.Add(new("spec.preprocessing.horizon",
                $"{read.Horizon} steps × {targets.Count} targets{(read.Quantiles is null ? "" : $" × {read.OutputsPerValue} quantiles")} is " +
                $"{read.Horizon * targets.Count * read.OutputsPerValue} outputs, but head.weight has {spec.OutputSize}."));
        if (read.Scaling == ScalingKind.Standard && (read.Mean is null || read.Std is null))
            errors.Add(new("spec.preprocessing.mean", "and std are required for standard scaling."));
        if (known.Count > 0 && (read.KnownMean?.Length != known.Count || read.KnownStd?.Length != known.Count))
            errors.Add(new("spec.preprocessing.knownMean", $"and knownStd are required, a value for each of the {known.Count} known features."));
        else if (known.Count > 0)
            ImportChecks.Scaler(errors, "spec.preprocessing.known", new ColumnScaler(read.KnownMean!, read.KnownStd!), known.Count);
        var mean = read.Mean ?? new double[features.Count];
        var std = read.Std ?? Enumerable.Repeat(1.0, features.Count).ToArray();
        ImportChecks.Scaler(errors, "spec.preprocessing", new ColumnScaler(mean, std), features.Count);
        if (errors.Count > 0) return null;
        var stored = read with { Mean = mean, Std = std, Season = Math.Max(1, read.Season), InputLength = Math.Max(1, read.InputLength) };
        var task = new TaskOptions
        {
            Kind = TaskKind.Forecast, Targets = stored.Targets, Features = stored.Features, InputLength = stored.InputLength,
            Horizon = stored.Horizon, Scaling = stored.Scaling, Season = stored.Season, Quantiles = stored.Quantiles,
            KnownFeatures = stored.KnownFeatures, CalendarFeatures = calendar.Count > 0 ? CalendarChoice.Auto : CalendarChoice.None,
        };
        return new ImportPlan(spec, task, StoredJson.Write(stored));
    }

    private static void CheckColumns(string field, IReadOnlyList<string> names, IReadOnlyList<string> columns, List<ValidationError> errors)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (!columns.Contains(names[i]))
                errors.Add(new($"{field}[{i}]", $"column '{names[i]}' is not a numeric column of the dataset (it has: {string.Join(", ", columns)})."));
        }
        if (names.Distinct().Count() != names.Count) errors.Add(new(field, "names a column twice."));
    }
}
