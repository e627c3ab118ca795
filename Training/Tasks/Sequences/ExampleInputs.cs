using RnnService.Domain.Jobs;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;

namespace RnnService.Training.Tasks.Sequences;

/// <summary>
/// The inputs of sequence, text and token-list examples, as every kind that reads them prepares them: a seeded random
/// split; features standardised on the training part; texts tokenised, or token lists taken as given, with a vocabulary
/// of the training part.
/// </summary>
public sealed class ExampleInputs
{
    private readonly LabelledData data;
    private readonly IReadOnlyList<IReadOnlyList<string>>? words;

    private ExampleInputs(LabelledData data, int[] train, int[] validation, ColumnScaler? features, IReadOnlyList<IReadOnlyList<string>>? words,
        IReadOnlyList<string>? vocabulary, string? tokenizer)
    {
        this.data = data;
        this.words = words;
        Train = train;
        Validation = validation;
        Features = features;
        Vocabulary = vocabulary;
        Tokenizer = tokenizer;
    }

    /// <summary>Indices of the training examples, in the seeded random order.</summary>
    public int[] Train { get; }

    public int[] Validation { get; }

    public ColumnScaler? Features { get; }

    public IReadOnlyList<string>? Vocabulary { get; }

    public string? Tokenizer { get; }

    /// <summary>Features per step; 0 for token models.</summary>
    public int FeatureCount => data.Steps is not null ? data.FeatureCount : 0;

    public int VocabularySize => Vocabulary?.Count ?? 0;

    public static ExampleInputs Fit(LabelledData data, TaskOptions task, TrainingOptions training)
    {
        var order = Enumerable.Range(0, data.Count).ToArray();
        new Random((int)(training.Seed!.Value % int.MaxValue)).Shuffle(order);
        var validationCount = Math.Clamp((int)Math.Round(data.Count * training.ValidationFraction!.Value), 1, data.Count - 1);
        var validation = order[..validationCount];
        var train = order[validationCount..];

        var features = data.Steps is null ? null : ColumnScaler.Fit(train.Select(i => data.Steps[i]), data.FeatureCount);
        IReadOnlyList<IReadOnlyList<string>>? words = data.Texts is not null ? data.Texts.Select(Data.Tokenizer.Tokenize).ToArray() : data.Tokens;
        var vocabulary = words is null ? null : SequencePreprocessing.BuildVocabulary(train.Select(i => words[i]), task.VocabularySize!.Value);
        var tokenizer = data.Texts is not null ? Data.Tokenizer.Name : data.Tokens is not null ? SequencePreprocessing.GivenTokens : null;
        return new ExampleInputs(data, train, validation, features, words, vocabulary, tokenizer);
    }

    /// <summary>Example <paramref name="i"/>'s standardised features or token ids (an empty text reads as one unknown word).</summary>
    public (float[]? Features, long[]? Tokens, int Length) Prepare(int i, SequencePreprocessing preprocessing)
    {
        if (Features is not null) return (Features.Apply(data.Steps![i]), null, data.LengthOf(i));
        var ids = words![i].Count == 0 ? [SequencePreprocessing.UnknownId] : preprocessing.TokenIds(words[i]);
        return (null, ids, ids.Length);
    }
}
