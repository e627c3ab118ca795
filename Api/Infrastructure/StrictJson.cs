using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using RnnService.Domain.Validation;
using RnnService.Training.Storage;

namespace RnnService.Api.Infrastructure;

/// <summary>
/// Unknown fields in a request: every member of a JSON body that the contract it is read as does not have, and every
/// enum value its enums do not have, found by walking the body beside the contract's serializer metadata (names as they
/// are written, matched exactly; enum values in any case, as they are read). A typo is an error naming it, with the
/// closest known field or value when there is one, instead of a silently dropped setting or a bare "wrong format".
/// Values read by a converter of their own (inputs, future values) and dictionaries' keys are not checked.
/// </summary>
public static class StrictJson
{
    /// <summary>
    /// The unknown fields and enum values of <paramref name="json"/> read as <paramref name="type"/>; none for JSON that
    /// does not parse (the reader says why).
    /// </summary>
    public static List<ValidationError> UnknownFieldsAndValues(ReadOnlySpan<byte> json, JsonTypeInfo type)
    {
        var errors = new List<ValidationError>();
        var options = type.Options;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            AllowTrailingCommas = options.AllowTrailingCommas,
            CommentHandling = options.ReadCommentHandling,
            MaxDepth = options.MaxDepth,
        });
        try
        {
            if (reader.Read()) Walk(ref reader, type, "", errors);
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException)
        {
            // Broken JSON (or text that is not UTF-8): deserialising it reports where, with the API's usual message.
        }
        return errors;
    }

    /// <summary>Unknown names among <paramref name="names"/> (form fields), each with the closest of <paramref name="known"/>.</summary>
    public static List<ValidationError> UnknownNames(IEnumerable<string> names, IReadOnlyCollection<string> known, string prefix = "") =>
        names.Where(name => !known.Contains(name, StringComparer.Ordinal))
            .Select(name => new ValidationError(prefix + name, Unknown(name, known)))
            .ToList();

    private static void Walk(ref Utf8JsonReader reader, JsonTypeInfo type, string path, List<ValidationError> errors)
    {
        if (Nullable.GetUnderlyingType(type.Type) is { } underlying) type = type.Options.GetTypeInfo(underlying);
        switch (type.Kind)
        {
            case JsonTypeInfoKind.Object when reader.TokenType == JsonTokenType.StartObject:
                if (type.Properties.Any(property => property.IsExtensionData))
                {
                    reader.Skip();
                    return;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    var property = type.Properties.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.Ordinal));
                    if (property is null)
                    {
                        errors.Add(new ValidationError(Join(path, name), Unknown(name, type.Properties.Select(p => p.Name).ToList())));
                        reader.Skip();
                    }
                    else if (property.CustomConverter is not null) reader.Skip();
                    else Walk(ref reader, type.Options.GetTypeInfo(property.PropertyType), Join(path, name), errors);
                }
                return;
            case JsonTypeInfoKind.Enumerable when reader.TokenType == JsonTokenType.StartArray:
                var element = type.Options.GetTypeInfo(type.ElementType!);
                for (var index = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; index++)
                    Walk(ref reader, element, $"{path}[{index}]", errors);
                return;
            case JsonTypeInfoKind.Dictionary when reader.TokenType == JsonTokenType.StartObject:
                var value = type.Options.GetTypeInfo(type.ElementType!);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var key = reader.GetString()!;
                    reader.Read();
                    Walk(ref reader, value, Join(path, key), errors);
                }
                return;
            default:
                if (type.Type.IsEnum && reader.TokenType == JsonTokenType.String)
                {
                    var names = StoredJson.EnumNames(type.Type);
                    var given = reader.GetString()!;
                    if (!names.Contains(given, StringComparer.OrdinalIgnoreCase))
                    {
                        var closest = Closest(given, names);
                        errors.Add(new ValidationError(path,
                            $"is '{given}', not one of {string.Join(", ", names)}.{(closest is null ? "" : $" Did you mean {closest}?")}"));
                    }
                }
                reader.Skip();
                return;
        }
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>The message for an unknown <paramref name="name"/>: with the closest known name when one is near enough to be a typo.</summary>
    public static string Unknown(string name, IReadOnlyCollection<string> known)
    {
        var closest = Closest(name, known);
        var suggestion = closest is null ? $" Known fields here: {string.Join(", ", known)}." : $" Did you mean {closest}?";
        return $"is not a known field.{suggestion}";
    }

    /// <summary>The known name nearest to <paramref name="name"/> (ignoring case), if it is within about a third of its length in edits.</summary>
    public static string? Closest(string name, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = Distance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }
        var allowed = Math.Max(1, (name.Length + 2) / 3);
        return bestDistance <= allowed && best is not null && (bestDistance > 0 || best != name) ? best : null;
    }

    /// <summary>Edit distance with adjacent transpositions (optimal string alignment).</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        for (var j = 1; j <= b.Length; j++)
        {
            var cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
        }
        return d[a.Length, b.Length];
    }
}
