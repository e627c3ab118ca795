using System.Text.Json;
using RnnService.Domain.Datasets;

namespace RnnService.Training.Data;

/// <summary>
/// JSON lines, one example per line: <c>{"sequence": [[f1,...,fk], ...], "label": 2}</c> (a step is a list of k
/// features, or a bare number when k = 1) or <c>{"text": "...", "label": 1}</c>. A label is an integer class, a number,
/// or a list of numbers (regression). For labelling, a label per step: <c>{"sequence": [...], "labels": [...]}</c> or
/// <c>{"tokens": ["The", "cat", ...], "labels": [...]}</c>, as many labels as steps or tokens. The first line decides
/// between sequences, texts and tokens, and between a label and labels. Lines are counted from 1.
/// </summary>
public static class JsonLinesParser
{
    /// <summary>More distinct integer labels than this are taken as numbers (regression), not classes.</summary>
    public const int MaxClasses = 1000;

    public const int MaxSequenceLength = 1_000_000;

    public static ParsedDataset Parse(TextReader reader)
    {
        var problems = new ProblemList();
        DatasetKind? kind = null;
        bool? perStep = null;
        var steps = new List<float[]>();
        var texts = new List<string>();
        var tokenLists = new List<string[]>();
        var labels = new List<double[]>();
        var featureCount = 0;
        var labelWidth = -1;
        var allIntegers = true;
        var lineNumber = 0;
        var minLength = int.MaxValue;
        var maxLength = 0;
        long totalSteps = 0;
        var distinctTokens = new HashSet<string>(StringComparer.Ordinal);
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Trim().Length == 0) continue;
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 16 });
            }
            catch (JsonException exception)
            {
                problems.Add($"line {lineNumber}: not valid JSON ({FirstSentence(exception.Message)}).");
                continue;
            }
            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    problems.Add($"line {lineNumber}: must be a JSON object with \"sequence\" or \"text\", and \"label\".");
                    continue;
                }
                var hasSequence = root.TryGetProperty("sequence", out var sequence);
                var hasText = root.TryGetProperty("text", out var text);
                var hasTokens = root.TryGetProperty("tokens", out var tokenList);
                var lineKind = hasSequence ? DatasetKind.Sequences : hasText ? DatasetKind.Texts : hasTokens ? DatasetKind.Tokens : (DatasetKind?)null;
                if (lineKind is null)
                {
                    problems.Add($"line {lineNumber}: \"sequence\", \"text\" or \"tokens\" missing.");
                    continue;
                }
                kind ??= lineKind;
                if (lineKind != kind)
                {
                    problems.Add($"line {lineNumber}: has \"{Field(lineKind.Value)}\", but the file holds {Plural(kind.Value)}.");
                    continue;
                }
                var hasLabels = root.TryGetProperty("labels", out var stepLabels);
                perStep ??= hasLabels || kind == DatasetKind.Tokens;
                if (kind == DatasetKind.Tokens && !hasLabels)
                {
                    problems.Add($"line {lineNumber}: \"labels\" missing: token lists are for labelling, with a label per token.");
                    continue;
                }
                if (kind == DatasetKind.Texts && hasLabels)
                {
                    problems.Add($"line {lineNumber}: a text has one \"label\"; for a label per word, send \"tokens\" with \"labels\".");
                    continue;
                }
                if (hasLabels != perStep)
                {
                    problems.Add(perStep.Value
                        ? $"line {lineNumber}: \"labels\" missing: earlier lines label every step."
                        : $"line {lineNumber}: has \"labels\", but earlier lines have one \"label\" per example.");
                    continue;
                }

                int length;
                float[]? parsedSteps = null;
                string[]? parsedTokens = null;
                IReadOnlyList<string>? words = null;
                if (kind == DatasetKind.Sequences)
                {
                    parsedSteps = ReadSequence(sequence, lineNumber, ref featureCount, problems);
                    if (parsedSteps is null) continue;
                    length = parsedSteps.Length / featureCount;
                }
                else if (kind == DatasetKind.Tokens)
                {
                    parsedTokens = ReadTokens(tokenList, lineNumber, problems);
                    if (parsedTokens is null) continue;
                    length = parsedTokens.Length;
                }
                else
                {
                    if (text.ValueKind != JsonValueKind.String || text.GetString()!.Trim().Length == 0)
                    {
                        problems.Add($"line {lineNumber}: \"text\" must be a non-empty string.");
                        continue;
                    }
                    words = Tokenizer.Tokenize(text.GetString()!);
                    length = Math.Max(1, words.Count);
                }

                double[]? values;
                if (perStep.Value) values = ReadStepLabels(stepLabels, length, lineNumber, ref labelWidth, ref allIntegers, problems);
                else if (!root.TryGetProperty("label", out var label) || label.ValueKind == JsonValueKind.Null)
                {
                    problems.Add($"line {lineNumber}: label missing.");
                    continue;
                }
                else values = ReadLabel(label, lineNumber, ref labelWidth, ref allIntegers, problems, "label");
                if (values is null) continue;
                labels.Add(values);
                if (parsedSteps is not null) steps.Add(parsedSteps);
                else if (parsedTokens is not null)
                {
                    tokenLists.Add(parsedTokens);
                    distinctTokens.UnionWith(parsedTokens);
                }
                else
                {
                    texts.Add(text.GetString()!);
                    distinctTokens.UnionWith(words!);
                }
                minLength = Math.Min(minLength, length);
                maxLength = Math.Max(maxLength, length);
                totalSteps += length;
            }
        }
        if (lineNumber == 0 || kind is null && !problems.Any) problems.Add("the file is empty.");
        problems.ThrowIfAny();

        // Per step, every value is a step's label; per example, a bare label's only value is the example's.
        var classes = allIntegers && labelWidth == 0
            ? labels.SelectMany(values => values).GroupBy(value => value).OrderBy(group => group.Key)
                .ToDictionary(group => group.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), group => group.Count())
            : null;
        var labelSummary = classes is not null && classes.Count <= MaxClasses
            ? new LabelSummary(LabelKind.Class, classes, 1, perStep == true)
            : new LabelSummary(LabelKind.Number, null, Math.Max(1, labelWidth), perStep == true);
        return new ParsedDataset
        {
            Summary = new DatasetSummary
            {
                Kind = kind!.Value, Format = DatasetFormat.Jsonl, Rows = labels.Count,
                FeatureCount = kind == DatasetKind.Sequences ? featureCount : null,
                MinLength = minLength, MaxLength = maxLength, Labels = labelSummary, TotalSteps = totalSteps,
                DistinctTokens = kind is DatasetKind.Texts or DatasetKind.Tokens ? distinctTokens.Count : null,
            },
            Labelled = kind switch
            {
                DatasetKind.Sequences => new LabelledData(steps, featureCount, null, labels) { PerStep = perStep == true, LabelWidth = Math.Max(1, labelWidth) },
                DatasetKind.Tokens => new LabelledData(null, 1, null, labels) { Tokens = tokenLists, PerStep = true, LabelWidth = Math.Max(1, labelWidth) },
                _ => new LabelledData(null, 1, texts, labels) { LabelWidth = Math.Max(1, labelWidth) },
            },
        };
    }

    private static string Field(DatasetKind kind) => kind switch
    {
        DatasetKind.Sequences => "sequence",
        DatasetKind.Tokens => "tokens",
        _ => "text",
    };

    private static string Plural(DatasetKind kind) => kind switch
    {
        DatasetKind.Sequences => "sequences",
        DatasetKind.Tokens => "token lists",
        _ => "texts",
    };

    /// <summary>A token list: non-empty, every token a non-empty string.</summary>
    private static string[]? ReadTokens(JsonElement tokens, int line, ProblemList problems)
    {
        if (tokens.ValueKind != JsonValueKind.Array || tokens.GetArrayLength() == 0)
        {
            problems.Add($"line {line}: \"tokens\" must be a non-empty list of strings.");
            return null;
        }
        if (tokens.GetArrayLength() > MaxSequenceLength)
        {
            problems.Add($"line {line}: {tokens.GetArrayLength()} tokens, more than the limit of {MaxSequenceLength}.");
            return null;
        }
        var result = new string[tokens.GetArrayLength()];
        var i = 0;
        foreach (var token in tokens.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.String || token.GetString()!.Length == 0)
            {
                problems.Add($"line {line}: token {i} must be a non-empty string, got {Shown(token)}.");
                return null;
            }
            result[i++] = token.GetString()!;
        }
        return result;
    }

    /// <summary>One label per step, flat (steps × width): each an integer class, a number, or a list of numbers.</summary>
    private static double[]? ReadStepLabels(JsonElement labels, int length, int line, ref int labelWidth, ref bool allIntegers, ProblemList problems)
    {
        if (labels.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"line {line}: \"labels\" must be a list with one label per step.");
            return null;
        }
        if (labels.GetArrayLength() != length)
        {
            problems.Add($"line {line}: {labels.GetArrayLength()} labels for {length} steps; there must be one label per step.");
            return null;
        }
        var values = new List<double>();
        var step = 0;
        foreach (var label in labels.EnumerateArray())
        {
            var one = ReadLabel(label, line, ref labelWidth, ref allIntegers, problems, $"labels[{step}]");
            if (one is null) return null;
            values.AddRange(one);
            step++;
        }
        return values.ToArray();
    }

    /// <summary>The steps of one sequence, flat; every step of every line must have the same feature count.</summary>
    private static float[]? ReadSequence(JsonElement sequence, int line, ref int featureCount, ProblemList problems)
    {
        if (sequence.ValueKind != JsonValueKind.Array || sequence.GetArrayLength() == 0)
        {
            problems.Add($"line {line}: \"sequence\" must be a non-empty list of steps.");
            return null;
        }
        if (sequence.GetArrayLength() > MaxSequenceLength)
        {
            problems.Add($"line {line}: {sequence.GetArrayLength()} steps, more than the limit of {MaxSequenceLength}.");
            return null;
        }
        var values = new List<float>();
        var step = 0;
        foreach (var element in sequence.EnumerateArray())
        {
            var width = element.ValueKind == JsonValueKind.Array ? element.GetArrayLength() : 1;
            if (featureCount == 0) featureCount = width;
            if (width != featureCount || width == 0)
            {
                problems.Add($"line {line}: step {step} has {width} features, but the file's steps have {featureCount}.");
                return null;
            }
            var items = element.ValueKind == JsonValueKind.Array ? element.EnumerateArray().ToArray() : [element];
            for (var f = 0; f < items.Length; f++)
            {
                if (!TryReadFinite(items[f], out var value))
                {
                    var where = element.ValueKind == JsonValueKind.Array ? $"step {step}, feature {f}" : $"step {step}";
                    problems.Add($"line {line}: {where} is not a finite number ({Shown(items[f])}).");
                    return null;
                }
                values.Add((float)value);
            }
            step++;
        }
        return values.ToArray();
    }

    private static double[]? ReadLabel(JsonElement label, int line, ref int labelWidth, ref bool allIntegers, ProblemList problems, string name)
    {
        double[] values;
        if (label.ValueKind == JsonValueKind.Array)
        {
            var items = label.EnumerateArray().ToArray();
            values = new double[items.Length];
            for (var i = 0; i < items.Length; i++)
            {
                if (!TryReadFinite(items[i], out values[i]))
                {
                    problems.Add($"line {line}: {name}[{i}] is not a finite number ({Shown(items[i])}).");
                    return null;
                }
            }
            if (values.Length == 0)
            {
                problems.Add($"line {line}: {name} is an empty list.");
                return null;
            }
        }
        else if (TryReadFinite(label, out var value)) values = [value];
        else
        {
            problems.Add($"line {line}: {name} must be an integer class, a number or a list of numbers, got {Shown(label)}.");
            return null;
        }

        // Width 0 marks a bare number; lists keep their length. Every line must agree.
        var width = label.ValueKind == JsonValueKind.Array ? values.Length : 0;
        if (labelWidth < 0) labelWidth = width;
        if (width != labelWidth)
        {
            problems.Add(labelWidth == 0
                ? $"line {line}: {name} is a list, but earlier labels are single numbers."
                : $"line {line}: {name} has {DescribeWidth(width)}, but earlier labels have {labelWidth} numbers.");
            return null;
        }
        if (width > 0 || values[0] != Math.Floor(values[0]) || Math.Abs(values[0]) > 1e9) allIntegers = false;
        return values;
    }

    private static string DescribeWidth(int width) => width == 0 ? "a single number" : $"{width} numbers";

    private static bool TryReadFinite(JsonElement element, out double value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out value)
            && double.IsFinite(value) && float.IsFinite((float)value);
    }

    private static string Shown(JsonElement element) => CsvTimeSeriesParser.Shorten(element.GetRawText());

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
    }
}
