using RnnService.Domain.Jobs;
using RnnService.Training.Data;
using RnnService.Training.Torch;

namespace RnnService.Training.Pipeline;

/// <summary>
/// What a sequence or text model keeps besides its weights: feature standardisation (sequences), the tokenizer and
/// vocabulary (texts; id 0 is <c>&lt;pad&gt;</c>, 1 is <c>&lt;unk&gt;</c>), the class labels in output order
/// (classification) or the target standardisation (regression).
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

    /// <summary>Each vocabulary word's id (its position); derived, not stored.</summary>
    private readonly Dictionary<string, long>? ids = Vocabulary?.Select((word, id) => (word, id)).ToDictionary(pair => pair.word, pair => (long)pair.id);

    /// <summary>The token ids of a text's words, <see cref="UnknownId"/> for words outside the vocabulary.</summary>
    public long[] TokenIds(IReadOnlyList<string> words)
    {
        var vocabulary = ids ?? throw new InvalidOperationException("this model has no vocabulary");
        var result = new long[words.Count];
        for (var i = 0; i < result.Length; i++) result[i] = vocabulary.GetValueOrDefault(words[i], UnknownId);
        return result;
    }
}

/// <summary>
/// Classification or regression of whole sequences or texts: a seeded random split, features standardised on the
/// training part, texts tokenised with a vocabulary built on the training part.
/// </summary>
public sealed class SequencePipeline : TaskPipeline
{
    public const string Pad = "<pad>";
    public const string Unknown = "<unk>";

    private readonly SequencePreprocessing preprocessing;
    private readonly double[][] validationLabels;
    private readonly long[] validationClasses;
    private readonly double[] trainingMean;
    private readonly long majorityClass;

    private SequencePipeline(
        SequencePreprocessing preprocessing, double[][] validationLabels, long[] validationClasses, double[] trainingMean, long majorityClass)
    {
        this.preprocessing = preprocessing;
        this.validationLabels = validationLabels;
        this.validationClasses = validationClasses;
        this.trainingMean = trainingMean;
        this.majorityClass = majorityClass;
    }

    public override object Preprocessing => preprocessing;

    public static SequencePipeline Create(LabelledData data, TaskOptions task, TrainingOptions training)
    {
        var order = Enumerable.Range(0, data.Count).ToArray();
        new Random((int)(training.Seed!.Value % int.MaxValue)).Shuffle(order);
        var validationCount = Math.Clamp((int)Math.Round(data.Count * training.ValidationFraction!.Value), 1, data.Count - 1);
        var validationIndices = order[..validationCount];
        var trainIndices = order[validationCount..];
        var classification = task.Kind == TaskKind.Classification;

        // Inputs: standardised features, or token ids over a vocabulary of the training texts.
        var featureScaler = data.Steps is null ? null : ColumnScaler.Fit(trainIndices.Select(i => data.Steps[i]), data.FeatureCount);
        var tokens = data.Steps is null ? data.Texts!.Select(Data.Tokenizer.Tokenize).ToArray() : null;
        var vocabulary = tokens is null ? null : BuildVocabulary(trainIndices.Select(i => tokens[i]), task.VocabularySize!.Value);

        // Targets: class indices over the sorted distinct labels, or standardised values.
        var width = data.Labels[0].Length;
        IReadOnlyList<double>? labels = classification ? data.Labels.Select(label => label[0]).Distinct().Order().ToArray() : null;
        var classOf = labels?.Select((label, index) => (label, index)).ToDictionary(pair => pair.label, pair => (long)pair.index);
        var targetScaler = classification
            ? null
            : ColumnScaler.Fit(trainIndices.Select(i => data.Labels[i].Select(v => (float)v).ToArray()), width);

        var preprocessing = new SequencePreprocessing(
            task.Kind!.Value, featureScaler, vocabulary is null ? null : Data.Tokenizer.Name, vocabulary, labels, targetScaler);

        Example Prepare(int i)
        {
            float[]? features = null;
            long[]? ids = null;
            // An empty text trains as one unknown word.
            if (featureScaler is not null) features = featureScaler.Apply(data.Steps![i]);
            else ids = tokens![i].Count == 0 ? [SequencePreprocessing.UnknownId] : preprocessing.TokenIds(tokens[i]);
            var length = ids?.Length ?? data.LengthOf(i);
            return classOf is not null
                ? new Example(features, ids, length, null, classOf[data.Labels[i][0]])
                : new Example(features, ids, length, targetScaler!.Apply(data.Labels[i].Select(v => (float)v).ToArray()), 0);
        }

        var train = trainIndices.Select(Prepare).ToArray();
        var validation = validationIndices.Select(Prepare).ToArray();
        var trainingMean = Enumerable.Range(0, width)
            .Select(k => trainIndices.Average(i => data.Labels[i][k])).ToArray();
        var majority = classification ? train.GroupBy(e => e.Class).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key : 0;
        return new SequencePipeline(
            preprocessing, validationIndices.Select(i => data.Labels[i]).ToArray(), validation.Select(e => e.Class).ToArray(), trainingMean, majority)
        {
            Train = train,
            Validation = validation,
            FeatureCount = data.Steps is not null ? data.FeatureCount : 0,
            VocabularySize = vocabulary?.Count ?? 0,
            OutputSize = classification ? labels!.Count : width,
            Loss = classification ? LossKind.CrossEntropy : LossKind.Mse,
        };
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

    public override IReadOnlyDictionary<string, double> Metrics(float[] outputs)
    {
        var metrics = new Dictionary<string, double>();
        var n = validationLabels.Length;
        if (preprocessing.Task == TaskKind.Classification)
        {
            var classes = OutputSize;
            var truth = validationClasses;
            var predicted = new long[n];
            double logLoss = 0;
            for (var i = 0; i < n; i++)
            {
                var probabilities = Softmax(outputs.AsSpan(i * classes, classes));
                predicted[i] = Array.IndexOf(probabilities, probabilities.Max());
                logLoss -= Math.Log(Math.Max(probabilities[truth[i]], 1e-15));
            }
            metrics["accuracy"] = Enumerable.Range(0, n).Count(i => predicted[i] == truth[i]) / (double)n;
            metrics["macroF1"] = MacroF1(truth, predicted);
            metrics["logLoss"] = logLoss / n;
            // The baseline a model must beat: always answering the training part's most common class.
            metrics["majorityAccuracy"] = truth.Count(t => t == majorityClass) / (double)n;
        }
        else
        {
            var width = OutputSize;
            double absolute = 0, squared = 0, meanAbsolute = 0;
            for (var i = 0; i < n; i++)
            {
                for (var k = 0; k < width; k++)
                {
                    var value = preprocessing.Targets!.Restore(outputs[i * width + k], k);
                    var error = Math.Abs(value - validationLabels[i][k]);
                    absolute += error;
                    squared += error * error;
                    meanAbsolute += Math.Abs(trainingMean[k] - validationLabels[i][k]);
                }
            }
            metrics["mae"] = absolute / (n * width);
            metrics["rmse"] = Math.Sqrt(squared / (n * width));
            // The baseline: always answering the training part's mean.
            metrics["meanMae"] = meanAbsolute / (n * width);
        }
        return metrics;
    }

    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var value in logits) max = Math.Max(max, value);
        var result = new double[logits.Length];
        double sum = 0;
        for (var i = 0; i < logits.Length; i++) sum += result[i] = Math.Exp(logits[i] - max);
        for (var i = 0; i < result.Length; i++) result[i] /= sum;
        return result;
    }

    /// <summary>F1 averaged over the classes that occur in the truth or the predictions.</summary>
    private static double MacroF1(long[] truth, long[] predicted)
    {
        var classes = truth.Concat(predicted).Distinct().ToArray();
        return classes.Average(c =>
        {
            double tp = 0, fp = 0, fn = 0;
            for (var i = 0; i < truth.Length; i++)
            {
                if (predicted[i] == c && truth[i] == c) tp++;
                else if (predicted[i] == c) fp++;
                else if (truth[i] == c) fn++;
            }
            return tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn);
        });
    }
}
