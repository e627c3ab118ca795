using System.Diagnostics;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Domain.Budgets;
using RnnService.Training.Engine;
using RnnService.Training.Torch;
using RnnService.Training.Torch.StateDicts;

namespace RnnService.Training.Pipeline;

/// <summary>
/// What a finished run hands to the registry: the best epoch's weights (flat, in the order of <c>Parameters</c>) and
/// why training stopped.
/// </summary>
public sealed record RunResult(
    TrainerProgress Progress, float[] BestWeights, IReadOnlyList<ParameterInfo> Parameters, ModelSpec Spec, long ParameterCount,
    StopReason StoppedBy, ModelEvaluation? Evaluation = null);

/// <summary>A job reached its time limit before it finished an epoch: there is no model to register.</summary>
public sealed class TimeLimitReachedException(string message) : Exception(message);

/// <summary>
/// How far one pass over the training examples got: batches trained of all, and their examples' loss sum; whether it
/// stopped because the job's time ran out.
/// </summary>
public readonly record struct EpochPass(int BatchesDone, int BatchCount, double LossSum, bool OutOfTime = false)
{
    public bool Finished => BatchesDone == BatchCount;
}

/// <summary>
/// Where training stands after a batch: the epoch under way (<c>Epoch</c>, from 1) and its batches done of all, the
/// sequences and seconds this claim trained of it (<c>SequencesDone</c> over <c>Seconds</c> is the throughput, and
/// <c>BatchesDone − FirstBatch</c> batches took those seconds), the job's elapsed seconds before the epoch, and how long
/// the previous epoch's validation took (null before the first ends).
/// </summary>
public readonly record struct BatchProgress(
    int Epoch, int BatchesDone, int BatchCount, int FirstBatch, long SequencesDone, double Seconds, double ElapsedBefore, double? ValidationSeconds);

/// <summary>
/// A shutdown stopped training between two batches; the job's checkpoint holds everything up to the last one
/// (<c>Checkpointed</c>: this claim wrote it; otherwise nothing new was trained since the last).
/// </summary>
public sealed class TrainingPausedException(int epoch, int batchesDone, int batchCount, bool checkpointed, CancellationToken token)
    : OperationCanceledException($"training stopped in epoch {epoch} after {batchesDone} of {batchCount} batches", token)
{
    public bool Checkpointed { get; } = checkpointed;

    public int Epoch { get; } = epoch;

    public int BatchesDone { get; } = batchesDone;

    public int BatchCount { get; } = batchCount;
}

/// <summary>
/// The epoch loop of one job: batches of similar lengths in a seeded order, a training step each (loss, backward,
/// gradient clipping, Adam), validation, metrics, early stopping on the validation loss, and a checkpoint after every
/// epoch. Starts from the job's checkpoint when there is one. Cancellation is checked before every batch; so is
/// <c>pause</c> (the worker's shutdown), which checkpoints the epoch so far and throws <see cref="TrainingPausedException"/>,
/// and so is the job's time limit, which ends the run with the best epoch so far; <c>prune</c>, after each epoch, may end
/// it the same way (a tuning job's early stopping). The host keeps two copies of the
/// weights, the current and the best, in arrays it reuses; checkpoints are written from them, and the optimizer's state
/// by the engine, straight to files.
/// </summary>
public static class TrainingRun
{
    public const int EvaluationBatchSize = TrainingShape.ValidationBatch;

    public static RunResult Run(
        ISequenceEngine engine, TaskPipeline pipeline, ModelSpec spec, TrainingOptions options, EngineDevice device, string checkpointDirectory,
        int attempt, Action<EpochEntry, TrainerProgress> onEpoch, CancellationToken cancellationToken,
        Action<string>? onCheckpointRejected = null, CancellationToken pause = default, TimeSpan? timeLimit = null,
        Func<TrainerProgress, bool>? prune = null, Action<BatchProgress>? onBatch = null)
    {
        var seed = options.Seed!.Value;
        using var model = engine.Create(spec, device, seed);
        using var trainer = engine.Trainer(model, new TrainerOptions
        {
            Loss = pipeline.Loss,
            LearningRate = options.LearningRate!.Value,
            GradientClipNorm = options.GradientClipNorm!.Value,
        });

        (double Loss, float[] Outputs) Validate() => Evaluate(
            model, pipeline.Validation, pipeline.FeatureCount, pipeline.OutputSize, pipeline.Loss, cancellationToken, pipeline.PerStep,
            pipeline.Quantiles);

        var progress = new TrainerProgress();
        var current = new float[model.ParameterCount];
        var best = new float[model.ParameterCount];
        var checkpoint = CheckpointFiles.TryLoad(checkpointDirectory, out var rejected);
        foreach (var problem in rejected) onCheckpointRejected?.Invoke(problem);
        if (checkpoint is not null)
        {
            using (var weights = File.OpenRead(checkpoint.WeightsPath)) model.LoadWeights(weights);
            trainer.LoadState(checkpoint.OptimizerPath);
            using (var weights = File.OpenRead(checkpoint.BestWeightsPath))
                StateDictReader.Read(weights, long.MaxValue, model.ParameterCount).CopyTo(model.Parameters, best);
            progress = checkpoint.Progress;
            // Reading made a copy of each tensor on the way; hand it back before the first step needs the room.
            MemoryRelease.Collect();
        }
        else
        {
            model.ReadParameters(best);
            if (pipeline.HeadStart is { } headStart)
            {
                // The untrained model is a forecaster already (its targets' baseline): it is the one to beat, epoch 0.
                StartHead(model.Parameters, best, headStart);
                model.WriteParameters(best);
                var (loss, outputs) = Validate();
                progress = progress with { BestEpoch = 0, BestValidationLoss = loss, BestMetrics = pipeline.Metrics(outputs) };
            }
        }

        var limit = timeLimit ?? TimeSpan.MaxValue;
        // What the epoch's training loss is a mean over: the examples, or a per-step model's steps.
        double trainingWeight = pipeline.PerStep ? pipeline.Train.Sum(e => (long)e.Length) : pipeline.Train.Count;
        var outOfTime = false;
        var patience = options.EarlyStoppingPatience!.Value;
        double? validationSeconds = null;
        void Save(TrainerProgress state)
        {
            using var span = Tracing.Source.StartActivity("rnnservice.checkpoint.write");
            span?.SetTag("rnnservice.epoch", state.Epoch);
            CheckpointFiles.Save(checkpointDirectory, state, new CheckpointWriters(
                path => WriteWeights(path, model.Parameters, current), trainer.SaveState, path => WriteWeights(path, model.Parameters, best)));
        }

        while (progress.Epoch < options.Epochs && !progress.StoppedEarly)
        {
            var epoch = progress.Epoch + 1;
            var unfinished = progress.Unfinished is { } part && part.Epoch == epoch ? part : null;
            var spent = TimeSpan.FromSeconds(progress.ElapsedSeconds + (unfinished?.ElapsedSeconds ?? 0));
            if (spent >= limit)
            {
                outOfTime = true;
                break;
            }
            using var span = Tracing.Source.StartActivity("rnnservice.training.epoch");
            span?.SetTag("rnnservice.epoch", epoch);
            var clock = Stopwatch.StartNew();
            var pass = TrainEpoch(
                engine, trainer, pipeline.Train, pipeline.FeatureCount, options.BatchSize!.Value, seed, epoch, cancellationToken, pause, unfinished,
                limit == TimeSpan.MaxValue ? null : limit - spent, pipeline.PerStep, pipeline.Quantiles,
                onBatch is null ? null : (done, count, first, sequences, seconds) => onBatch(
                    new BatchProgress(epoch, done, count, first, sequences, seconds, progress.ElapsedSeconds + (unfinished?.ElapsedSeconds ?? 0), validationSeconds)));
            var trainingSeconds = clock.Elapsed.TotalSeconds;
            var epochSeconds = (unfinished?.ElapsedSeconds ?? 0) + clock.Elapsed.TotalSeconds;
            if (pass.OutOfTime)
            {
                // The epoch under way is not finished: the best finished epoch is what the job registers.
                outOfTime = true;
                if (progress.Epoch == 0)
                    throw new TimeLimitReachedException(
                        $"the job reached its time limit (training.maxDuration {System.Xml.XmlConvert.ToString(limit)}) after " +
                        $"{pass.BatchesDone} of the first epoch's {pass.BatchCount} batches, before any epoch finished; there is no " +
                        "model to register. Allow more time, or train a smaller model or fewer examples.");
                break;
            }
            if (!pass.Finished)
            {
                // Stopped between batches: keep what this claim trained, so that the next one goes on from the next batch.
                var trained = pass.BatchesDone > (unfinished?.Batches ?? 0);
                if (trained)
                {
                    progress = progress with { Unfinished = new UnfinishedEpoch(epoch, pass.BatchesDone, pass.LossSum, epochSeconds) };
                    model.ReadParameters(current);
                    Save(progress);
                }
                throw new TrainingPausedException(epoch, pass.BatchesDone, pass.BatchCount, trained, pause);
            }
            span?.SetTag("rnnservice.epoch.batches", pass.BatchCount);
            var (validationLoss, outputs) = Validate();
            var metrics = pipeline.Metrics(outputs);
            validationSeconds = clock.Elapsed.TotalSeconds - trainingSeconds;
            TrainingMetrics.Epochs.Add(1);
            TrainingMetrics.EpochDuration.Record(clock.Elapsed.TotalSeconds);

            model.ReadParameters(current);
            var improved = pipeline.Improves(validationLoss, metrics, progress.BestValidationLoss, progress.BestMetrics);
            if (improved) Array.Copy(current, best, current.LongLength);
            var withoutImprovement = improved ? 0 : progress.EpochsWithoutImprovement + 1;
            var elapsed = progress.ElapsedSeconds + epochSeconds;
            var entry = new EpochEntry(epoch, pass.LossSum / trainingWeight, validationLoss, elapsed, attempt, metrics);
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
            // A tuning job's trial may be stopped here by its search's early stopping (asha, median), as by its own.
            if (!progress.StoppedEarly && prune?.Invoke(progress) == true) progress = progress with { StoppedEarly = true, Pruned = true };
            // The checkpoint first: the job's record never claims an epoch that a restart would not find.
            Save(progress);
            onEpoch(entry, progress);
        }
        var stoppedBy = outOfTime ? StopReason.TimeLimit
            : progress.Pruned ? StopReason.Pruned
            : progress.StoppedEarly ? StopReason.EarlyStopping : StopReason.Epochs;
        // The kept weights' validation outputs, once they have been computed: the rule below and calibration share them.
        float[]? kept = null;
        if (pipeline.HeadStart is { } start && pipeline.Quantiles is { } levels && progress.BestEpoch > 0)
        {
            // The one-standard-error rule: the untrained baseline stays unless the kept epoch beats it clearly.
            model.WriteParameters(best);
            (_, kept) = Validate();
            if (!BeatsBaseline(pipeline.Validation, kept, pipeline.OutputSize, start, levels))
            {
                StartHead(model.Parameters, best, start);
                model.WriteParameters(best);
                (var loss, kept) = Validate();
                progress = progress with { BestEpoch = 0, BestValidationLoss = loss, BestMetrics = pipeline.Metrics(kept) };
            }
        }
        if (pipeline.CalibratesOnValidation && progress.BestMetrics is not null)
        {
            // The kept weights' validation outputs calibrate what the model version keeps; its metrics are those calibrated.
            if (kept is null)
            {
                model.WriteParameters(best);
                (_, kept) = Validate();
            }
            pipeline.Calibrate(kept);
            progress = progress with { BestMetrics = pipeline.Metrics(kept) };
        }
        // What the kept model does on validation, for people to look at (a confusion matrix, forecasts against actuals).
        if (kept is null)
        {
            model.WriteParameters(best);
            (_, kept) = Validate();
        }
        return new RunResult(progress, best, model.Parameters, spec, model.ParameterCount, stoppedBy, pipeline.Evaluate(kept));
    }

    /// <summary>
    /// Whether trained outputs beat the baseline's (the head start, the same for every example) by more than one standard
    /// error of their validation loss (Hastie, Tibshirani and Friedman, The Elements of Statistical Learning, 7.10): the
    /// simpler model is kept when the better one is within the noise of the validation set. With few validation windows
    /// (one, on a series a few seasons long) a trained epoch that was lucky on them is not preferred to the baseline; with
    /// many, a small real gain is. Losses are each example's mean pinball loss over its outputs.
    /// </summary>
    internal static bool BeatsBaseline(IReadOnlyList<Example> examples, float[] outputs, int outputSize, float[] baseline, double[] levels)
    {
        var n = examples.Count;
        if (n < 2) return false;
        var trained = new double[n];
        double baselineSum = 0;
        for (var i = 0; i < n; i++)
        {
            var targets = examples[i].Targets!;
            double trainedLoss = 0, baselineLoss = 0;
            for (var j = 0; j < outputSize; j++)
            {
                var level = levels[j % levels.Length];
                double target = targets[j / levels.Length];
                trainedLoss += Pinball(level, target - outputs[(long)i * outputSize + j]);
                baselineLoss += Pinball(level, target - baseline[j]);
            }
            trained[i] = trainedLoss / outputSize;
            baselineSum += baselineLoss / outputSize;
        }
        var mean = trained.Average();
        var deviation = Math.Sqrt(trained.Sum(loss => (loss - mean) * (loss - mean)) / (n - 1));
        return baselineSum / n > mean + deviation / Math.Sqrt(n);
    }

    private static double Pinball(double level, double error) => Math.Max(level * error, (level - 1) * error);

    /// <summary>
    /// Zeros the head's weights and sets its bias to <paramref name="bias"/> in <paramref name="values"/> (the
    /// parameters, flat in state_dict order).
    /// </summary>
    private static void StartHead(IReadOnlyList<ParameterInfo> parameters, float[] values, float[] bias)
    {
        long offset = 0;
        foreach (var parameter in parameters)
        {
            var span = values.AsSpan(checked((int)offset), checked((int)parameter.ElementCount));
            if (parameter.Name == "head.weight") span.Clear();
            else if (parameter.Name == "head.bias") bias.CopyTo(span);
            offset += parameter.ElementCount;
        }
    }

    /// <summary>Weights as a state_dict file: Python's torch.load reads it, as does the next claim of the job.</summary>
    private static void WriteWeights(string path, IReadOnlyList<ParameterInfo> parameters, float[] values)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        StateDictWriter.Write(stream, parameters, values);
    }

    /// <summary>
    /// One pass over the training examples in batches of similar lengths, a training step each. The batch order depends
    /// on the seed and the epoch only, dropout on those and the batch's place, so a pass resumed from
    /// <paramref name="from"/> trains what the rest of an uninterrupted one would have. Stops before the next batch when
    /// <paramref name="pause"/> is set, or when <paramref name="timeLeft"/> has passed. The benchmarks in <c>bench/</c>
    /// time this same loop. <paramref name="afterBatch"/> is told after each batch: batches done, of all, the first this
    /// pass trained, and this pass's sequences and seconds so far.
    /// </summary>
    public static EpochPass TrainEpoch(
        ISequenceEngine engine, INetworkTrainer trainer, IReadOnlyList<Example> examples, int featureCount, int batchSize, long seed, int epoch,
        CancellationToken cancellationToken, CancellationToken pause = default, UnfinishedEpoch? from = null, TimeSpan? timeLeft = null,
        bool perStep = false, double[]? quantiles = null, Action<int, int, int, long, double>? afterBatch = null)
    {
        var batches = Batches.ByLength(examples, batchSize, new Random(unchecked((int)EpochSeed(seed, epoch))));
        var lossSum = from?.LossSum ?? 0;
        var clock = Stopwatch.StartNew();
        var first = from?.Batches ?? 0;
        long sequences = 0;
        for (var done = first; done < batches.Count; done++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (pause.IsCancellationRequested) return new EpochPass(done, batches.Count, lossSum);
            if (clock.Elapsed >= timeLeft) return new EpochPass(done, batches.Count, lossSum, OutOfTime: true);
            engine.SetSeed(unchecked((ulong)(EpochSeed(seed, epoch) * 1_000_003 + done)));
            var indices = batches[done];
            var (batch, targets) = Batches.Build(examples, indices, featureCount, quantiles);
            // The engine's loss is a mean over the batch's sequences, or over a per-step model's real steps.
            lossSum += trainer.Step(batch, targets) * (perStep ? batch.Lengths.Sum() : indices.Length);
            TrainingMetrics.Batches.Add(1);
            TrainingMetrics.Sequences.Add(indices.Length);
            sequences += indices.Length;
            afterBatch?.Invoke(done + 1, batches.Count, first, sequences, clock.Elapsed.TotalSeconds);
        }
        return new EpochPass(batches.Count, batches.Count, lossSum);
    }

    private static long EpochSeed(long seed, int epoch) => unchecked(seed * 1_000_003 + epoch);

    /// <summary>
    /// Mean loss over <paramref name="examples"/> (for a per-step model, over their steps) and the raw outputs in their
    /// order: <paramref name="outputSize"/> an example, or per step of each example.
    /// </summary>
    public static (double Loss, float[] Outputs) Evaluate(
        ISequenceNetwork model, IReadOnlyList<Example> examples, int featureCount, int outputSize, LossKind loss,
        CancellationToken cancellationToken, bool perStep = false, double[]? quantiles = null)
    {
        // Where each example's outputs start: one row an example, or one a step.
        var offsets = new long[examples.Count + 1];
        for (var i = 0; i < examples.Count; i++) offsets[i + 1] = offsets[i] + (perStep ? examples[i].Length : 1) * (long)outputSize;
        var outputs = new float[offsets[^1]];
        double lossSum = 0;
        long weightSum = 0;
        foreach (var indices in Batches.InLengthOrder(examples, EvaluationBatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (batch, targets) = Batches.Build(examples, indices, featureCount, quantiles);
            var evaluation = model.Evaluate(batch, targets, loss);
            // The engine's loss is a mean over the batch's sequences, or over its real steps.
            var weight = perStep ? batch.Lengths.Sum() : indices.Length;
            lossSum += evaluation.Loss * weight;
            weightSum += weight;
            for (var j = 0; j < indices.Length; j++)
            {
                var source = perStep ? j * (long)batch.Steps * outputSize : j * (long)outputSize;
                var count = offsets[indices[j] + 1] - offsets[indices[j]];
                evaluation.Outputs.AsSpan(checked((int)source), checked((int)count)).CopyTo(outputs.AsSpan(checked((int)offsets[indices[j]])));
            }
        }
        return (lossSum / weightSum, outputs);
    }
}
