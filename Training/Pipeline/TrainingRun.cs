using System.Diagnostics;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Training.Pipeline;

/// <summary>What a finished run hands to the registry.</summary>
public sealed record RunResult(TrainerProgress Progress, byte[] BestWeights, ModelSpec Spec, long ParameterCount);

/// <summary>
/// The epoch loop of one job: batches of similar lengths in a seeded order, a training step each (loss, backward,
/// gradient clipping, Adam), validation, metrics, early stopping on the validation loss, and a checkpoint after every
/// epoch. Starts from the job's checkpoint when there is one. Cancellation is checked before every batch.
/// </summary>
public static class TrainingRun
{
    public const int EvaluationBatchSize = 256;

    public static RunResult Run(
        TaskPipeline pipeline, ModelSpec spec, TrainingOptions options, EngineDevice device, string checkpointDirectory,
        int attempt, Action<EpochEntry, TrainerProgress> onEpoch, CancellationToken cancellationToken,
        Action<string>? onCheckpointRejected = null)
    {
        var seed = options.Seed!.Value;
        using var model = SequenceModel.Create(spec, device, seed);
        using var trainer = new ModelTrainer(model, new TrainerOptions
        {
            Loss = pipeline.Loss,
            LearningRate = options.LearningRate!.Value,
            GradientClipNorm = options.GradientClipNorm!.Value,
        });

        var progress = new TrainerProgress();
        byte[] bestWeights;
        var checkpoint = CheckpointFiles.TryLoad(checkpointDirectory, out var rejected);
        foreach (var problem in rejected) onCheckpointRejected?.Invoke(problem);
        if (checkpoint is not null)
        {
            model.LoadWeights(new MemoryStream(checkpoint.Weights));
            trainer.LoadState(checkpoint.Optimizer);
            progress = checkpoint.Progress;
            bestWeights = checkpoint.BestWeights;
        }
        else bestWeights = Weights(model);

        var patience = options.EarlyStoppingPatience!.Value;
        while (progress.Epoch < options.Epochs && !progress.StoppedEarly)
        {
            var epoch = progress.Epoch + 1;
            var clock = Stopwatch.StartNew();
            // Shuffling and dropout depend on the seed and the epoch only, so a resumed epoch repeats exactly.
            TorchEngine.SetSeed(unchecked((ulong)(seed * 1_000_003 + epoch)));
            var random = new Random(unchecked((int)(seed * 1_000_003 + epoch)));
            var lossSum = TrainEpoch(trainer, pipeline.Train, pipeline.FeatureCount, options.BatchSize!.Value, random, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            var (validationLoss, outputs) = Evaluate(
                model, pipeline.Validation, pipeline.FeatureCount, pipeline.OutputSize, pipeline.Loss, cancellationToken);
            var metrics = pipeline.Metrics(outputs);

            var weights = Weights(model);
            var improved = validationLoss < progress.BestValidationLoss;
            if (improved) bestWeights = weights;
            var withoutImprovement = improved ? 0 : progress.EpochsWithoutImprovement + 1;
            var elapsed = progress.ElapsedSeconds + clock.Elapsed.TotalSeconds;
            var entry = new EpochEntry(epoch, lossSum / pipeline.Train.Count, validationLoss, elapsed, attempt, metrics);
            progress = progress with
            {
                Epoch = epoch,
                BestEpoch = improved ? epoch : progress.BestEpoch,
                BestValidationLoss = improved ? validationLoss : progress.BestValidationLoss,
                BestMetrics = improved ? metrics : progress.BestMetrics,
                EpochsWithoutImprovement = withoutImprovement,
                StoppedEarly = patience > 0 && withoutImprovement >= patience,
                ElapsedSeconds = elapsed,
                History = [.. progress.History, entry],
            };
            // The checkpoint first: the job's record never claims an epoch that a restart would not find.
            CheckpointFiles.Save(checkpointDirectory, new Checkpoint(progress, weights, trainer.SaveState(), bestWeights));
            onEpoch(entry, progress);
        }
        return new RunResult(progress, bestWeights, spec, model.ParameterCount);
    }

    /// <summary>
    /// One pass over the training examples in batches of similar lengths (seeded order), a training step each; returns
    /// the sum of the examples' losses. The benchmarks in <c>bench/</c> time this same loop.
    /// </summary>
    public static double TrainEpoch(
        ModelTrainer trainer, IReadOnlyList<Example> examples, int featureCount, int batchSize, Random random,
        CancellationToken cancellationToken)
    {
        double lossSum = 0;
        foreach (var indices in Batches.ByLength(examples, batchSize, random))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (batch, targets) = Batches.Build(examples, indices, featureCount);
            lossSum += trainer.Step(batch, targets) * indices.Length;
        }
        return lossSum;
    }

    /// <summary>Mean loss over <paramref name="examples"/> and the raw outputs in their order.</summary>
    public static (double Loss, float[] Outputs) Evaluate(
        SequenceModel model, IReadOnlyList<Example> examples, int featureCount, int outputSize, LossKind loss,
        CancellationToken cancellationToken)
    {
        var outputs = new float[examples.Count * outputSize];
        double lossSum = 0;
        foreach (var indices in Batches.InLengthOrder(examples, EvaluationBatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (batch, targets) = Batches.Build(examples, indices, featureCount);
            var evaluation = model.Evaluate(batch, targets, loss);
            lossSum += evaluation.Loss * indices.Length;
            for (var j = 0; j < indices.Length; j++)
                evaluation.Outputs.AsSpan(j * outputSize, outputSize).CopyTo(outputs.AsSpan(indices[j] * outputSize));
        }
        return (lossSum / examples.Count, outputs);
    }

    private static byte[] Weights(SequenceModel model)
    {
        using var buffer = new MemoryStream();
        model.SaveWeights(buffer);
        return buffer.ToArray();
    }
}
