using RnnService.Domain.Jobs;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Tasks.Sequences;
using RnnService.Training.Torch;

namespace RnnService.Training.Tasks.Classification;

/// <summary>Classes over the sorted distinct labels; accuracy, macro F1, log loss and the majority class's accuracy.</summary>
public sealed class ClassificationPipeline : TaskPipeline
{
    private readonly SequencePreprocessing preprocessing;
    private readonly long[] validationClasses;
    private readonly long majorityClass;

    private ClassificationPipeline(SequencePreprocessing preprocessing, long[] validationClasses, long majorityClass)
    {
        this.preprocessing = preprocessing;
        this.validationClasses = validationClasses;
        this.majorityClass = majorityClass;
    }

    public override object Preprocessing => preprocessing;

    /// <summary>A classifier is judged on accuracy, so accuracy picks its epoch (measured in README's real-data table).</summary>
    public override string? SelectionMetric => "accuracy";

    public static ClassificationPipeline Create(LabelledData data, TaskOptions task, TrainingOptions training)
    {
        var inputs = ExampleInputs.Fit(data, task, training);
        IReadOnlyList<double> labels = data.Labels.Select(label => label[0]).Distinct().Order().ToArray();
        var classOf = labels.Select((label, index) => (label, index)).ToDictionary(pair => pair.label, pair => (long)pair.index);
        var preprocessing = new SequencePreprocessing(TaskKind.Classification, inputs.Features, inputs.Tokenizer, inputs.Vocabulary, labels, null);

        Example Prepare(int i)
        {
            var (features, tokens, length) = inputs.Prepare(i, preprocessing);
            return new Example(features, tokens, length, null, classOf[data.Labels[i][0]]);
        }

        var train = inputs.Train.Select(Prepare).ToArray();
        var validation = inputs.Validation.Select(Prepare).ToArray();
        return new ClassificationPipeline(preprocessing, validation.Select(e => e.Class).ToArray(), SequenceMetrics.Majority(train.Select(e => e.Class)))
        {
            Train = train,
            Validation = validation,
            FeatureCount = inputs.FeatureCount,
            VocabularySize = inputs.VocabularySize,
            OutputSize = labels.Count,
            Loss = LossKind.CrossEntropy,
        };
    }

    public override IReadOnlyDictionary<string, double> Metrics(float[] outputs) =>
        SequenceMetrics.Classes(outputs, OutputSize, validationClasses, majorityClass, standardErrors: true);

    public override ModelEvaluation Evaluate(float[] outputs) =>
        ModelEvaluation.Classes(outputs, OutputSize, validationClasses, preprocessing.Labels!);
}
