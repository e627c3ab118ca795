using RnnService.Domain.Models;
using RnnService.Domain.Predictions;
using RnnService.Domain.Validation;

namespace RnnService.Training.Tasks;

/// <summary>
/// One sequence made ready for the engine, with what its output needs to be mapped back: for a forecast, what each output
/// value is measured from (<c>Level</c>) and in (<c>Spread</c>).
/// </summary>
public readonly record struct PreparedSequence(float[]? Features, long[]? Tokens, int Length, double[]? Level = null, double[]? Spread = null);

/// <summary>
/// A model version's task and preprocessing, applied at serving time exactly as in training: raw inputs become the
/// network's inputs (scaling, tokenising), and its outputs become the task's answer in the data's own terms.
/// </summary>
public abstract class ServedTask(ModelSpec spec)
{
    protected ModelSpec Spec { get; } = spec;

    /// <summary>Checks the request against this model and prepares every sequence; problems are keyed by field path.</summary>
    public IReadOnlyList<ValidationError> Prepare(PredictRequest request, int maxSteps, out PreparedSequence[] prepared)
    {
        var errors = new List<ValidationError>();
        CheckOptions(request, errors);
        prepared = request.Texts is { } texts ? PrepareTexts(texts, maxSteps, errors)
            : request.Tokens is { } tokens ? PrepareTokenLists(tokens, maxSteps, errors)
            : PrepareInputs(request, errors);
        return errors;
    }

    /// <summary>Maps one sequence's head outputs (per step for a per-step model) back to the answer its task gives.</summary>
    public abstract PredictOutput Output(ReadOnlySpan<float> output, in PreparedSequence prepared, PredictRequest request);

    /// <summary>Request options other than the sequences (a forecast's horizon).</summary>
    protected virtual void CheckOptions(PredictRequest request, List<ValidationError> errors)
    {
        if (request.Horizon is not null) errors.Add(new("horizon", $"applies to forecast models only; this one does {TaskName}."));
    }

    protected abstract string TaskName { get; }

    protected virtual PreparedSequence[] PrepareTexts(IReadOnlyList<string> texts, int maxSteps, List<ValidationError> errors)
    {
        errors.Add(new("texts", "this model reads sequences of numbers, not texts; send them as inputs."));
        return new PreparedSequence[texts.Count];
    }

    protected virtual PreparedSequence[] PrepareTokenLists(IReadOnlyList<IReadOnlyList<string>> tokens, int maxSteps, List<ValidationError> errors)
    {
        errors.Add(new("tokens", "this model was not trained on token lists; send its sequences as inputs" + (Spec.HasEmbedding ? " (token ids) or texts." : ".")));
        return new PreparedSequence[tokens.Count];
    }

    /// <summary>Sequences of numbers: token ids for token models, feature steps otherwise.</summary>
    protected PreparedSequence[] PrepareInputs(PredictRequest request, List<ValidationError> errors)
    {
        var inputs = request.Inputs!;
        var prepared = new PreparedSequence[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            if (Spec.HasEmbedding) PrepareTokenIds(input, i, errors, prepared);
            else if (input.Width != InputWidth)
                Add(errors, $"inputs[{i}][0]", $"has {input.Width} features; the model reads {InputWidth}{FeatureNames}.");
            else prepared[i] = PrepareFeatures(input, i, request, errors);
        }
        return prepared;
    }

    /// <summary>
    /// One sequence of features (input <paramref name="index"/>, already checked for width) as the network reads it;
    /// problems with it or with what the request gives along with it go to <paramref name="errors"/>.
    /// </summary>
    protected abstract PreparedSequence PrepareFeatures(InputSequence input, int index, PredictRequest request, List<ValidationError> errors);

    /// <summary>Features a step of an input carries.</summary>
    protected virtual int InputWidth => Spec.InputSize;

    /// <summary>" (a, b)" when the model's features have names.</summary>
    protected virtual string FeatureNames => "";

    private void PrepareTokenIds(InputSequence input, int index, List<ValidationError> errors, PreparedSequence[] prepared)
    {
        if (input.Width != 1)
        {
            Add(errors, $"inputs[{index}][0]", $"has {input.Width} features; a token model reads one token id per step.");
            return;
        }
        var tokens = new long[input.Steps];
        for (var t = 0; t < tokens.Length; t++)
        {
            var value = input.Values[t];
            if (value != MathF.Floor(value) || value < 0 || value >= Spec.VocabularySize)
            {
                Add(errors, $"inputs[{index}][{t}]", $"{value} is not a token id of this model (integers 0 to {Spec.VocabularySize - 1}).");
                return;
            }
            tokens[t] = (long)value;
        }
        prepared[index] = new PreparedSequence(null, tokens, tokens.Length);
    }

    /// <summary>Adds a problem while there are fewer than <see cref="SequenceInputs.MaxProblems"/>.</summary>
    protected static void Add(List<ValidationError> errors, string field, string message)
    {
        if (errors.Count < SequenceInputs.MaxProblems) errors.Add(new ValidationError(field, message));
    }
}
