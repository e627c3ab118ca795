using System.Text.Json;
using System.Text.Json.Serialization;
using RnnService.Domain.Validation;

namespace RnnService.Domain.Predictions;

/// <summary>One sequence of a request as read: its values flat in step order (steps × width).</summary>
public sealed class InputSequence(float[] values, int steps, int width)
{
    public float[] Values { get; } = values;

    public int Steps { get; } = steps;

    /// <summary>Features per step (1 for bare numbers); 0 for an empty sequence.</summary>
    public int Width { get; } = width;
}

/// <summary>
/// The <c>inputs</c> of a predict request: sequences of any lengths, each a list of steps, a step being a list of
/// features or a bare number. Read straight into float arrays; what is wrong with a value is kept as a problem keyed
/// by its position (<c>inputs[3][17]</c>) instead of failing the whole read, so that one answer names every bad step.
/// </summary>
[JsonConverter(typeof(SequenceInputsConverter))]
public sealed class SequenceInputs(IReadOnlyList<InputSequence> sequences, IReadOnlyList<ValidationError> problems)
{
    /// <summary>At most this many problems are kept; a broken request does not need a thousand-line answer.</summary>
    public const int MaxProblems = 20;

    public IReadOnlyList<InputSequence> Sequences { get; } = sequences;

    public IReadOnlyList<ValidationError> Problems { get; } = problems;

    public int Count => Sequences.Count;

    public InputSequence this[int index] => Sequences[index];
}

/// <summary>Reads <c>inputs</c>; its problems are keyed by <see cref="Field"/>.</summary>
public class SequenceInputsConverter : JsonConverter<SequenceInputs>
{
    /// <summary>The request field the sequences come in, which every problem's key starts with.</summary>
    protected virtual string Field => "inputs";

    public override SequenceInputs Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException($"{Field} must be a list of sequences.");
        var sequences = new List<InputSequence>();
        var problems = new List<ValidationError>();
        var values = new List<float>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            var index = sequences.Count;
            values.Clear();
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                Problem(problems, $"{Field}[{index}]", "must be a list of steps.");
                reader.Skip();
                sequences.Add(new InputSequence([], 0, 0));
                continue;
            }
            int steps = 0, width = 0;
            while (Next(ref reader) != JsonTokenType.EndArray)
            {
                // Named only when something is wrong with the step: formatting a key per step and per value cost as much
                // as reading the numbers.
                string Key() => $"{Field}[{index}][{steps}]";
                var stepWidth = 0;
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        if (!ReadValue(ref reader, values)) Problem(problems, Key(), Wrong(ref reader, stepWidth));
                        stepWidth++;
                    }
                    if (stepWidth == 0) Problem(problems, Key(), "is an empty list; a step needs at least one feature.");
                }
                else
                {
                    if (!ReadValue(ref reader, values)) Problem(problems, Key(), Wrong(ref reader, null));
                    stepWidth = 1;
                }
                if (steps == 0) width = stepWidth;
                else if (stepWidth != width)
                    Problem(problems, Key(), $"has {stepWidth} features, but step 0 of this sequence has {width}.");
                steps++;
            }
            if (steps == 0) Problem(problems, $"{Field}[{index}]", "is empty; a sequence needs at least one step.");
            sequences.Add(width > 0 && values.Count == steps * width
                ? new InputSequence(values.ToArray(), steps, width)
                : new InputSequence([], steps, width));
        }
        return new SequenceInputs(sequences, problems);
    }

    public override void Write(Utf8JsonWriter writer, SequenceInputs value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var sequence in value.Sequences)
        {
            writer.WriteStartArray();
            for (var t = 0; t < sequence.Steps && sequence.Values.Length > 0; t++)
            {
                if (sequence.Width == 1) writer.WriteNumberValue(sequence.Values[t]);
                else
                {
                    writer.WriteStartArray();
                    for (var f = 0; f < sequence.Width; f++) writer.WriteNumberValue(sequence.Values[t * sequence.Width + f]);
                    writer.WriteEndArray();
                }
            }
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    }

    private JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw new JsonException($"{Field} ended early.");
        return reader.TokenType;
    }

    /// <summary>Adds the value the reader is on; false (and a 0 in its place) when it is not a finite 32-bit number.</summary>
    private static bool ReadValue(ref Utf8JsonReader reader, List<float> values)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var number) && double.IsFinite(number) && Math.Abs(number) <= float.MaxValue)
        {
            values.Add((float)number);
            return true;
        }
        values.Add(0);
        return false;
    }

    /// <summary>What is wrong with the value <see cref="ReadValue"/> refused (skipping it when it is a list or an object).</summary>
    private static string Wrong(ref Utf8JsonReader reader, int? feature)
    {
        var where = feature is null ? "" : $"feature {feature}: ";
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return $"{where}{reader.RawText()} does not fit a 32-bit float.";
            case JsonTokenType.String:
                var text = reader.GetString();
                return text is "NaN" or "Infinity" or "-Infinity"
                    ? $"{where}{text} is not allowed; values must be finite numbers."
                    : $"{where}must be a number, not a string.";
            default:
                var message = $"{where}must be a number, not {Describe(reader.TokenType)}.";
                reader.Skip();
                return message;
        }
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "a nested list",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.Null => "null",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => token.ToString(),
    };

    private static void Problem(List<ValidationError> problems, string key, string message)
    {
        if (problems.Count < SequenceInputs.MaxProblems) problems.Add(new ValidationError(key, message));
    }
}

/// <summary>Reads a forecast's <c>future</c>: sequences like <c>inputs</c>, whose problems are keyed <c>future[i][t]</c>.</summary>
public sealed class FutureInputsConverter : SequenceInputsConverter
{
    protected override string Field => "future";
}

internal static class Utf8JsonReaderText
{
    /// <summary>The raw text of the current number token, for messages.</summary>
    public static string RawText(this ref Utf8JsonReader reader) =>
        System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan);
}
