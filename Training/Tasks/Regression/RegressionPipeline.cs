using RnnService.Domain.Jobs;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Tasks.Sequences;
using RnnService.Training.Torch;

namespace RnnService.Training.Tasks.Regression;

/// <summary>Targets standardised on the training part; MAE and RMSE in the labels' own scale, beside the training mean's.</summary>
public sealed class RegressionPipeline : TaskPipeline
{
    private readonly SequencePreprocessing preprocessing;
    private readonly double[] validationTruth;
    private readonly double[] trainingMean;

    private RegressionPipeline(SequencePreprocessing preprocessing, double[] validationTruth, double[] trainingMean)
    {
        this.preprocessing = preprocessing;
        this.validationTruth = validationTruth;
        this.trainingMean = trainingMean;
    }

    public override object Preprocessing => preprocessing;

    public static RegressionPipeline Create(LabelledData data, TaskOptions task, TrainingOptions training)
    {
        var inputs = ExampleInputs.Fit(data, task, training);
        var width = data.Labels[0].Length;
        var targets = ColumnScaler.Fit(inputs.Train.Select(i => data.Labels[i].Select(v => (float)v).ToArray()), width);
        var preprocessing = new SequencePreprocessing(TaskKind.Regression, inputs.Features, inputs.Tokenizer, inputs.Vocabulary, null, targets);

        Example Prepare(int i)
        {
            var (features, tokens, length) = inputs.Prepare(i, preprocessing);
            return new Example(features, tokens, length, targets.Apply(data.Labels[i].Select(v => (float)v).ToArray()), 0);
        }

        var trainingMean = Enumerable.Range(0, width).Select(k => inputs.Train.Average(i => data.Labels[i][k])).ToArray();
        return new RegressionPipeline(preprocessing, inputs.Validation.SelectMany(i => data.Labels[i]).ToArray(), trainingMean)
        {
            Train = inputs.Train.Select(Prepare).ToArray(),
            Validation = inputs.Validation.Select(Prepare).ToArray(),
            FeatureCount = inputs.FeatureCount,
            VocabularySize = inputs.VocabularySize,
            OutputSize = width,
            Loss = LossKind.Mse,
        };
    }

    public override IReadOnlyDictionary<string, double> Metrics(float[] outputs) =>
        SequenceMetrics.Numbers(preprocessing.Targets!.Restore(outputs), validationTruth, trainingMean);

    public override ModelEvaluation Evaluate(float[] outputs) =>
        ModelEvaluation.Numbers(preprocessing.Targets!.Restore(outputs), validationTruth, OutputSize);
}
