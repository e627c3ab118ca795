using System.Diagnostics;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Training.Torch;

namespace RnnService.Training.Pipeline;

/// <summary>What a finished run hands to the registry.</summary>
public sealed record RunResult(TrainerProgress Progress, byte[] BestWeights, ModelSpec Spec, long ParameterCount);

/// <summary>How far one pass over the training examples got: batches trained of all, and their examples' loss sum.</summary>
public readonly record struct EpochPass(int BatchesDone, int BatchCount, double LossSum)
{
    public bool Finished => BatchesDone == BatchCount;
}

/// <summary>
/// A shutdown stopped training between two batches; the job's checkpoint holds everything up to the last one.
/// </summary>
public sealed class TrainingPausedException(int epoch, int batchesDone, int batchCount, CancellationToken token)
    : OperationCanceledException($"training stopped in epoch {epoch} after {batchesDone} of {batchCount} batches", token)
{
    public int Epoch { get; } = epoch;

    public int BatchesDone { get; } = batchesDone;

    public int BatchCount { get; } = batchCount;
}

/// <summary>
/// The epoch loop of one job: batches of similar lengths in a seeded order, a training step each (loss, backward,
/// gradient clipping, Adam), validation, metrics, early stopping on the validation loss, and a checkpoint after every
/// epoch. Starts from the job's checkpoint when there is one. Cancellation is checked before every batch; so is
/// <c>pause</c> (the worker's shutdown), which checkpoints the epoch so far and throws <see cref="TrainingPausedException"/>.
/// </summary>
public static class TrainingRun
{
    public const int EvaluationBatchSize = 256;

    public static RunResult Run(
        TaskPipeline pipeline, ModelSpec spec, TrainingOptions options, EngineDevice device, string checkpointDirectory,
        int attempt, Action<EpochEntry, TrainerProgress> onEpoch, CancellationToken cancellationToken,
        Action<string>? onCheckpointRejected = null, CancellationToken pause = default)
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
            var unfinished = progress.Unfinished is { } part && part.Epoch == epoch ? part : null;
            var pass = TrainEpoch(
                trainer, pipeline.Train, pipeline.FeatureCount, options.BatchSize!.Value, seed, epoch, cancellationToken, pause, unfinished);
            var epochSeconds = (unfinished?.ElapsedSeconds ?? 0) + clock.Elapsed.TotalSeconds;
            if (!pass.Finished)
            {
                // Stopped between batches: keep what this claim trained, so that the next one goes on from the next batch.
                if (pass.BatchesDone > (unfinished?.Batches ?? 0))
                {
                    progress = progress with { Unfinished = new UnfinishedEpoch(epoch, pass.BatchesDone, pass.LossSum, epochSeconds) };
                    CheckpointFiles.Save(checkpointDirectory, new Checkpoint(progress, Weights(model), trainer.SaveState(), bestWeights));
                }
                throw new TrainingPausedException(epoch, pass.BatchesDone, pass.BatchCount, pause);
            }
            var (validationLoss, outputs) = Evaluate(
                model, pipeline.Validation, pipeline.FeatureCount, pipeline.OutputSize, pipeline.Loss, cancellationToken);
            var metrics = pipeline.Metrics(outputs);

            var weights = Weights(model);
            var improved = validationLoss < progress.BestValidationLoss;
            if (improved) bestWeights = weights;
            var withoutImprovement = improved ? 0 : progress.EpochsWithoutImprovement + 1;
            var elapsed = progress.ElapsedSeconds + epochSeconds;
            var entry = new EpochEntry(epoch, pass.LossSum / pipeline.Train.Count, validationLoss, elapsed, attempt, metrics);
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
                Unfinished = null,
            };
            // The checkpoint first: the job's record never claims an epoch that a restart would not find.
            CheckpointFiles.Save(checkpointDirectory, new Checkpoint(progress, weights, trainer.SaveState(), bestWeights));
            onEpoch(entry, progress);
        }
        return new RunResult(progress, bestWeights, spec, model.ParameterCount);
    }

    /// <summary>
    /// One pass over the training examples in batches of similar lengths, a training step each. The batch order depends
    /// on the seed and the epoch only, dropout on those and the batch's place, so a pass resumed from
    /// <paramref name="from"/> trains what the rest of an uninterrupted one would have. Stops before the next batch when
    /// <paramref name="pause"/> is set. The benchmarks in <c>bench/</c> time this same loop.
    /// </summary>
    public static EpochPass TrainEpoch(
        ModelTrainer trainer, IReadOnlyList<Example> examples, int featureCount, int batchSize, long seed, int epoch,
        CancellationToken cancellationToken, CancellationToken pause = default, UnfinishedEpoch? from = null)
    {
        var batches = Batches.ByLength(examples, batchSize, new Random(unchecked((int)EpochSeed(seed, epoch))));
        var lossSum = from?.LossSum ?? 0;
        for (var done = from?.Batches ?? 0; done < batches.Count; done++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (pause.IsCancellationRequested) return new EpochPass(done, batches.Count, lossSum);
            TorchEngine.SetSeed(unchecked((ulong)(EpochSeed(seed, epoch) * 1_000_003 + done)));
            var indices = batches[done];
            var (batch, targets) = Batches.Build(examples, indices, featureCount);
            lossSum += trainer.Step(batch, targets) * indices.Length;
        }
        return new EpochPass(batches.Count, batches.Count, lossSum);
    }

    private static long EpochSeed(long seed, int epoch) => unchecked(seed * 1_000_003 + epoch);

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
