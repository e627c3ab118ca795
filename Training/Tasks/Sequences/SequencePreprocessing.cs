using RnnService.Domain.Jobs;
using RnnService.Training.Pipeline;

namespace RnnService.Training.Tasks.Sequences;

/// <summary>
/// What a sequence, text or token-list model keeps besides its weights: feature standardisation (sequences), the
/// tokenizer and vocabulary (texts and token lists; id 0 is <c>&lt;pad&gt;</c>, 1 is <c>&lt;unk&gt;</c>), the class
/// labels in output order (classification, labelling of classes) or the target standardisation (regression, labelling
/// of numbers).
/// </summary>
public sealed record SequencePreprocessing(
    TaskKind Task,
    ColumnScaler? Features,
    string? Tokenizer,
    IReadOnlyList<string>? Vocabulary,
    IReadOnlyList<double>? Labels,
    ColumnScaler? Targets)
{
    /// <summary>The id of words outside the vocabulary (<c>&lt;unk&gt;</c>).</summary>
    public const long UnknownId = 1;

    public const string Pad = "<pad>";

    public const string Unknown = "<unk>";

    /// <summary>The tokenizer of token-list models: the tokens are the words, exactly as sent.</summary>
    public const string GivenTokens = "tokens-as-given";

    /// <summary>Each vocabulary word's id (its position); derived, not stored.</summary>
    private readonly Dictionary<string, long>? ids = Vocabulary?.Select((word, id) => (word, id)).ToDictionary(pair => pair.word, pair => (long)pair.id);

    /// <summary>Reads texts (tokenised here), not token lists.</summary>
    public bool ReadsTexts => Vocabulary is not null && Tokenizer != GivenTokens;

    /// <summary>Reads token lists as given.</summary>
    public bool ReadsTokenLists => Vocabulary is not null && Tokenizer == GivenTokens;

    /// <summary>The token ids of a text's words, <see cref="UnknownId"/> for words outside the vocabulary.</summary>
    public long[] TokenIds(IReadOnlyList<string> words)
    {
        var vocabulary = ids ?? throw new InvalidOperationException("this model has no vocabulary");
        var result = new long[words.Count];
        for (var i = 0; i < result.Length; i++) result[i] = vocabulary.GetValueOrDefault(words[i], UnknownId);
        return result;
    }

    /// <summary><c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c>, then the most frequent words (ties in order of first appearance).</summary>
    public static IReadOnlyList<string> BuildVocabulary(IEnumerable<IReadOnlyList<string>> texts, int size)
    {
        var counts = new Dictionary<string, (int Count, int First)>();
        foreach (var word in texts.SelectMany(tokens => tokens))
            counts[word] = counts.TryGetValue(word, out var seen) ? (seen.Count + 1, seen.First) : (1, counts.Count);
        return new[] { Pad, Unknown }
            .Concat(counts.OrderByDescending(pair => pair.Value.Count).ThenBy(pair => pair.Value.First)
                .Take(size - 2).Select(pair => pair.Key))
            .ToArray();
    }
}
