using RnnService.Domain.Models;
using RnnService.Domain.Predictions;
using RnnService.Domain.Validation;
using RnnService.Training.Data;

namespace RnnService.Training.Tasks.Sequences;

/// <summary>Serving of models that read sequences, texts or token lists, with their <see cref="SequencePreprocessing"/>.</summary>
public abstract class SequenceServing(ModelSpec spec, SequencePreprocessing preprocessing) : ServedTask(spec)
{
    protected SequencePreprocessing Preprocessing { get; } = preprocessing;

    protected override PreparedSequence[] PrepareTexts(IReadOnlyList<string> texts, int maxSteps, List<ValidationError> errors)
    {
        var prepared = new PreparedSequence[texts.Count];
        if (!Preprocessing.ReadsTexts)
        {
            errors.Add(new("texts", Preprocessing.ReadsTokenLists
                ? "this model reads token lists; send each sequence's words as a list in tokens."
                : "this model reads sequences of numbers, not texts; send them as inputs."));
            return prepared;
        }
        for (var i = 0; i < texts.Count; i++)
        {
            var words = Tokenizer.Tokenize(texts[i] ?? "");
            if (words.Count == 0) Add(errors, $"texts[{i}]", "has no words.");
            else if (words.Count > maxSteps) Add(errors, $"texts[{i}]", $"has {words.Count} tokens; at most {maxSteps} are allowed.");
            else
            {
                var ids = Preprocessing.TokenIds(words);
                prepared[i] = new PreparedSequence(null, ids, ids.Length);
            }
        }
        return prepared;
    }

    protected override PreparedSequence[] PrepareTokenLists(IReadOnlyList<IReadOnlyList<string>> tokens, int maxSteps, List<ValidationError> errors)
    {
        if (!Preprocessing.ReadsTokenLists) return base.PrepareTokenLists(tokens, maxSteps, errors);
        var prepared = new PreparedSequence[tokens.Count];
        for (var i = 0; i < tokens.Count; i++)
        {
            var words = tokens[i];
            if (words is null || words.Count == 0) Add(errors, $"tokens[{i}]", "must be a non-empty list of tokens.");
            else if (words.Count > maxSteps) Add(errors, $"tokens[{i}]", $"has {words.Count} tokens; at most {maxSteps} are allowed.");
            else if (IndexOfEmpty(words) is var empty and >= 0) Add(errors, $"tokens[{i}][{empty}]", "must be a non-empty string.");
            else
            {
                var ids = Preprocessing.TokenIds(words);
                prepared[i] = new PreparedSequence(null, ids, ids.Length);
            }
        }
        return prepared;
    }

    private static int IndexOfEmpty(IReadOnlyList<string> words)
    {
        for (var t = 0; t < words.Count; t++)
            if (string.IsNullOrEmpty(words[t])) return t;
        return -1;
    }

    /// <summary>One answer of classes: the most probable class, as labelled in the training data, and every class's probability.</summary>
    protected (double Label, double[] Probabilities) Classify(ReadOnlySpan<float> logits)
    {
        var probabilities = SequenceMetrics.Softmax(logits);
        var best = Array.IndexOf(probabilities, probabilities.Max());
        return (Preprocessing.Labels is { } labels && best < labels.Count ? labels[best] : best, probabilities);
    }

    /// <summary>One answer of numbers, in the labels' own scale (as the head gives them when the model has no target scaling).</summary>
    protected double[] Values(ReadOnlySpan<float> outputs)
    {
        if (Preprocessing.Targets is { } targets) return targets.Restore(outputs);
        var values = new double[outputs.Length];
        for (var k = 0; k < values.Length; k++) values[k] = outputs[k];
        return values;
    }

    protected override PreparedSequence PrepareFeatures(InputSequence input, int index, PredictRequest request, List<ValidationError> errors) =>
        new(Preprocessing.Features is { } scaler ? scaler.Apply(input.Values) : input.Values, null, input.Steps);
}
