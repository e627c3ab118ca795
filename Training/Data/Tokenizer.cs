using System.Text.RegularExpressions;

namespace RnnService.Training.Data;

/// <summary>Lower-cases a text and splits it into words (letters, digits, '_') and single punctuation marks.</summary>
public static partial class Tokenizer
{
    public const string Name = "lowercase-words-punctuation";

    public static IReadOnlyList<string> Tokenize(string text) =>
        Token().Matches(text.ToLowerInvariant()).Select(match => match.Value).ToArray();

    [GeneratedRegex(@"\w+|[^\w\s]")]
    private static partial Regex Token();
}
