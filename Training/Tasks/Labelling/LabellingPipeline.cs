using RnnService.Domain.Jobs;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Tasks.Sequences;
using RnnService.Training.Torch;

namespace RnnService.Training.Tasks.Labelling;

/// <summary>
/// A label at every step: classes over the sorted distinct step labels (cross-entropy, accuracy and macro F1 over all
/// validation steps, the epoch of best step accuracy kept), or numbers standardised per column on the training steps
/// (MSE; MAE and RMSE over all validation steps in the labels' own scale).
/// </summary>
public sealed class LabellingPipeline : TaskPipeline
{
    private readonly SequencePreprocessing preprocessing;
    private readonly long[]? validationClasses;
    private readonly double[]? validationValues;
    private readonly long majorityClass;
    private readonly double[]? trainingMean;

    private LabellingPipeline(SequencePreprocessing preprocessing, long[]? validationClasses, long majorityClass, double[]? validationValues, double[]? trainingMean)
    {
        this.preprocessing = preprocessing;
        this.validationClasses = validationClasses;
        this.majorityClass = majorityClass;
        this.validationValues = validationValues;
        this.trainingMean = trainingMean;
    }

    public override object Preprocessing => preprocessing;

    public override string? SelectionMetric => validationClasses is null ? null : "accuracy";

    /// <param name="classes">The labels are classes (as the dataset's summary says), not numbers.</param>
    public static LabellingPipeline Create(LabelledData data, bool classes, TaskOptions task, TrainingOptions training)
    {
        var inputs = ExampleInputs.Fit(data, task, training);
        var width = data.LabelWidth;
        if (classes)
        {
            IReadOnlyList<double> labels = data.Labels.SelectMany(values => values).Distinct().Order().ToArray();
            var classOf = labels.Select((label, index) => (label, index)).ToDictionary(pair => pair.label, pair => (long)pair.index);
            var preprocessing = new SequencePreprocessing(TaskKind.Labelling, inputs.Features, inputs.Tokenizer, inputs.Vocabulary, labels, null);
            Example Prepare(int i)
            {
                var (features, tokens, length) = inputs.Prepare(i, preprocessing);
                return new Example(features, tokens, length, null, 0, data.Labels[i].Select(label => classOf[label]).ToArray());
            }
            var train = inputs.Train.Select(Prepare).ToArray();
            var validation = inputs.Validation.Select(Prepare).ToArray();
            return new LabellingPipeline(preprocessing, validation.SelectMany(e => e.StepClasses!).ToArray(),
                SequenceMetrics.Majority(train.SelectMany(e => e.StepClasses!)), null, null)
            {
                Train = train, Validation = validation, FeatureCount = inputs.FeatureCount, VocabularySize = inputs.VocabularySize,
                OutputSize = labels.Count, PerStep = true, Loss = LossKind.CrossEntropy,
            };
        }

        var targets = ColumnScaler.Fit(inputs.Train.Select(i => data.Labels[i].Select(v => (float)v).ToArray()), width);
        var numbers = new SequencePreprocessing(TaskKind.Labelling, inputs.Features, inputs.Tokenizer, inputs.Vocabulary, null, targets);
        Example PrepareNumbers(int i)
        {
            var (features, tokens, length) = inputs.Prepare(i, numbers);
            return new Example(features, tokens, length, targets.Apply(data.Labels[i].Select(v => (float)v).ToArray()), 0, null, width);
        }
        return new LabellingPipeline(numbers, null, 0, inputs.Validation.SelectMany(i => data.Labels[i]).ToArray(), targets.Mean)
        {
            Train = inputs.Train.Select(PrepareNumbers).ToArray(), Validation = inputs.Validation.Select(PrepareNumbers).ToArray(),
            FeatureCount = inputs.FeatureCount, VocabularySize = inputs.VocabularySize,
            OutputSize = width, PerStep = true, Loss = LossKind.Mse,
        };
    }

    public override IReadOnlyDictionary<string, double> Metrics(float[] outputs)
    {
        if (validationClasses is not null) return SequenceMetrics.Classes(outputs, OutputSize, validationClasses, majorityClass);
        return SequenceMetrics.Numbers(preprocessing.Targets!.Restore(outputs), validationValues!, trainingMean!);
    }

    public override ModelEvaluation Evaluate(float[] outputs) => validationClasses is not null
        ? ModelEvaluation.Classes(outputs, OutputSize, validationClasses, preprocessing.Labels!)
        : ModelEvaluation.Numbers(preprocessing.Targets!.Restore(outputs), validationValues!, OutputSize);
}
