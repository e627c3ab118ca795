using RnnService.Api.Predict;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Validation;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;

namespace RnnService.Api.Inference;

/// <summary>One sequence made ready for the engine, with what its output needs to be mapped back (window scaling).</summary>
public readonly record struct PreparedSequence(float[]? Features, long[]? Tokens, int Length, double[]? Level = null, double[]? Spread = null);

/// <summary>
/// A model version's task and preprocessing, applied at serving time exactly as in training: raw inputs become the
/// network's inputs (scaling, tokenising), and its outputs become forecasts in the data's scale, labelled classes with
/// probabilities, or regression values in the labels' scale.
/// </summary>
public sealed class Servable
{
    private readonly ModelSpec spec;
    private readonly ForecastPreprocessing? forecast;
    private readonly SequencePreprocessing? sequence;

    public Servable(ModelSpec spec, TaskOptions task, string preprocessingJson)
    {
        this.spec = spec;
        Task = task.Kind ?? throw new ArgumentException("the stored task has no kind", nameof(task));
        if (Task == TaskKind.Forecast) forecast = StoredJson.Read<ForecastPreprocessing>(preprocessingJson);
        else sequence = StoredJson.Read<SequencePreprocessing>(preprocessingJson);
    }

    public TaskKind Task { get; }

    /// <summary>Checks the request against this model and prepares every sequence; problems are keyed by field path.</summary>
    public IReadOnlyList<ValidationError> Prepare(PredictRequest request, int maxSteps, out PreparedSequence[] prepared)
    {
        var errors = new List<ValidationError>();
        if (request.Horizon is { } horizon)
        {
            if (forecast is null) errors.Add(new("horizon", $"applies to forecast models only; this one does {Task.ToString().ToLowerInvariant()}."));
            else if (horizon > forecast.Horizon) errors.Add(new("horizon", $"is {horizon}, but the model was trained for at most {forecast.Horizon} steps."));
        }

        if (request.Texts is { } texts)
        {
            prepared = new PreparedSequence[texts.Count];
            if (sequence?.Vocabulary is null)
            {
                errors.Add(new("texts", "this model reads sequences of numbers, not texts; send them as inputs."));
                return errors;
            }
            for (var i = 0; i < texts.Count; i++)
            {
                var words = Tokenizer.Tokenize(texts[i] ?? "");
                if (words.Count == 0) Add(errors, $"texts[{i}]", "has no words.");
                else if (words.Count > maxSteps) Add(errors, $"texts[{i}]", $"has {words.Count} tokens; at most {maxSteps} are allowed.");
                else
                {
                    var ids = sequence.TokenIds(words);
                    prepared[i] = new PreparedSequence(null, ids, ids.Length);
                }
            }
            return errors;
        }

        var inputs = request.Inputs!;
        prepared = new PreparedSequence[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            if (spec.HasEmbedding) PrepareTokens(input, i, errors, prepared);
            else if (input.Width != spec.InputSize)
                Add(errors, $"inputs[{i}][0]", $"has {input.Width} features; the model reads {spec.InputSize}{FeatureNames()}.");
            else if (forecast is not null)
            {
                var window = new double[input.Values.Length];
                for (var v = 0; v < window.Length; v++) window[v] = input.Values[v];
                var scaled = forecast.ScaleInput(window, out var level, out var spread);
                prepared[i] = new PreparedSequence(scaled, null, input.Steps, level, spread);
            }
            else
            {
                var features = sequence!.Features is { } scaler ? scaler.Apply(input.Values) : input.Values;
                prepared[i] = new PreparedSequence(features, null, input.Steps);
            }
        }
        return errors;
    }

    /// <summary>Maps one sequence's head outputs back to the answer its task gives.</summary>
    public PredictOutput Output(ReadOnlySpan<float> output, in PreparedSequence prepared, int? horizon)
    {
        if (forecast is not null)
        {
            var targets = forecast.Targets.Count;
            var steps = horizon ?? forecast.Horizon;
            var result = new double[steps][];
            for (var h = 0; h < steps; h++)
            {
                result[h] = new double[targets];
                for (var k = 0; k < targets; k++)
                    result[h][k] = forecast.Unscale(output[h * targets + k], k, prepared.Level!, prepared.Spread!);
            }
            return new PredictOutput { Forecast = result };
        }
        if (Task == TaskKind.Classification)
        {
            var probabilities = SequencePipeline.Softmax(output);
            var best = Array.IndexOf(probabilities, probabilities.Max());
            var labels = sequence!.Labels;
            return new PredictOutput { Label = labels is not null && best < labels.Count ? labels[best] : best, Probabilities = probabilities };
        }
        var values = new double[output.Length];
        var targetScaler = sequence!.Targets;
        for (var k = 0; k < values.Length; k++)
            values[k] = targetScaler is null ? output[k] : targetScaler.Restore(output[k], k);
        return new PredictOutput { Values = values };
    }

    private void PrepareTokens(InputSequence input, int index, List<ValidationError> errors, PreparedSequence[] prepared)
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
            if (value != MathF.Floor(value) || value < 0 || value >= spec.VocabularySize)
            {
                Add(errors, $"inputs[{index}][{t}]", $"{value} is not a token id of this model (integers 0 to {spec.VocabularySize - 1}).");
                return;
            }
            tokens[t] = (long)value;
        }
        prepared[index] = new PreparedSequence(null, tokens, tokens.Length);
    }

    private string FeatureNames() => forecast is null ? "" : $" ({string.Join(", ", forecast.Features)})";

    private static void Add(List<ValidationError> errors, string field, string message)
    {
        if (errors.Count < SequenceInputs.MaxProblems) errors.Add(new ValidationError(field, message));
    }
}
