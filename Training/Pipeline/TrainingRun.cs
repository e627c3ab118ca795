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
        int attempt, Action<EpochEntry, TrainerProgress> onEpoch, CancellationToken cancellationToken)
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
        var checkpoint = CheckpointFiles.TryLoad(checkpointDirectory);
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
            double lossSum = 0;
            foreach (var indices in Batches.ByLength(pipeline.Train, options.BatchSize!.Value, random))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (batch, targets) = Batches.Build(pipeline.Train, indices, pipeline.FeatureCount);
                lossSum += trainer.Step(batch, targets) * indices.Length;
            }
            cancellationToken.ThrowIfCancellationRequested();
            var (validationLoss, outputs) = Evaluate(model, pipeline, cancellationToken);
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

    /// <summary>Mean validation loss and the raw outputs in validation order.</summary>
    private static (double Loss, float[] Outputs) Evaluate(SequenceModel model, TaskPipeline pipeline, CancellationToken cancellationToken)
    {
        var outputs = new float[pipeline.Validation.Count * pipeline.OutputSize];
        double lossSum = 0;
        foreach (var indices in Batches.InLengthOrder(pipeline.Validation, EvaluationBatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (batch, targets) = Batches.Build(pipeline.Validation, indices, pipeline.FeatureCount);
            var evaluation = model.Evaluate(batch, targets, pipeline.Loss);
            lossSum += evaluation.Loss * indices.Length;
            for (var j = 0; j < indices.Length; j++)
                evaluation.Outputs.AsSpan(j * pipeline.OutputSize, pipeline.OutputSize)
                    .CopyTo(outputs.AsSpan(indices[j] * pipeline.OutputSize));
        }
        return (lossSum / pipeline.Validation.Count, outputs);
    }

    private static byte[] Weights(SequenceModel model)
    {
        using var buffer = new MemoryStream();
        model.SaveWeights(buffer);
        return buffer.ToArray();
    }
}
