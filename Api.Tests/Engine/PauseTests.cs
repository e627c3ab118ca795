using System.Collections;
using System.Text;
using RnnService.Api.Tests.Infrastructure;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Tasks;
using RnnService.Training.Tasks.Forecast;
using RnnService.Training.Torch;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// A shutdown stops training between two batches and checkpoints there; the next claim goes on from the next batch and
/// ends with exactly the model, losses and metrics of a run that was never stopped (dropout included).
/// </summary>
public sealed class PauseTests : IDisposable
{
    private readonly string uninterruptedDirectory = Directory.CreateTempSubdirectory("rnnservice-pause-").FullName;
    private readonly string pausedDirectory = Directory.CreateTempSubdirectory("rnnservice-pause-").FullName;

    public void Dispose()
    {
        Directory.Delete(uninterruptedDirectory, recursive: true);
        Directory.Delete(pausedDirectory, recursive: true);
    }

    [Fact]
    public void AnEpochStoppedBetweenBatchesGoesOnFromTheNextBatchAndEndsAsAnUninterruptedRun()
    {
        var (pipeline, spec, training) = Problem();
        var uninterrupted = TrainingRun.Run(TorchSequenceEngine.Instance, pipeline, spec, training, EngineDevice.Cpu, uninterruptedDirectory, 1, (_, _) => { }, CancellationToken.None);

        // Stop while the second epoch builds its fourth batch: epoch 1 and epoch 2's ordering read every example once.
        using var shutdown = new CancellationTokenSource();
        var stopping = new StopWhenRead(pipeline, shutdown, reads: 3 * pipeline.Train.Count + 3 * training.BatchSize!.Value + 1);
        var paused = Assert.Throws<TrainingPausedException>(() => TrainingRun.Run(TorchSequenceEngine.Instance,
            stopping, spec, training, EngineDevice.Cpu, pausedDirectory, 1, (_, _) => { }, CancellationToken.None, pause: shutdown.Token));

        Assert.Equal(2, paused.Epoch);
        Assert.Equal(4, paused.BatchesDone);
        var checkpoint = CheckpointFiles.TryLoad(pausedDirectory, out _)!;
        Assert.Equal(1, checkpoint.Progress.Epoch);
        Assert.Equal(2, checkpoint.Progress.Unfinished!.Epoch);
        Assert.Equal(4, checkpoint.Progress.Unfinished.Batches);

        var resumed = TrainingRun.Run(TorchSequenceEngine.Instance, pipeline, spec, training, EngineDevice.Cpu, pausedDirectory, 2, (_, _) => { }, CancellationToken.None);

        Assert.Equal(uninterrupted.BestWeights, resumed.BestWeights);
        Assert.Equal(Losses(uninterrupted), Losses(resumed));
        Assert.Equal(uninterrupted.Progress.BestMetrics, resumed.Progress.BestMetrics);
        Assert.Equal([1, 2, 2], resumed.Progress.History.Select(entry => entry.Attempt));
        Assert.Null(resumed.Progress.Unfinished);
    }

    [Fact]
    public void AStopBeforeTheFirstBatchWritesNoCheckpoint()
    {
        var (pipeline, spec, training) = Problem();
        using var shutdown = new CancellationTokenSource();
        shutdown.Cancel();

        var paused = Assert.Throws<TrainingPausedException>(() => TrainingRun.Run(TorchSequenceEngine.Instance,
            pipeline, spec, training, EngineDevice.Cpu, pausedDirectory, 1, (_, _) => { }, CancellationToken.None, pause: shutdown.Token));

        Assert.Equal((1, 0), (paused.Epoch, paused.BatchesDone));
        Assert.Empty(Directory.GetFileSystemEntries(pausedDirectory));
    }

    [Fact]
    public void TheJobsOwnCancelIsNotAPause()
    {
        var (pipeline, spec, training) = Problem();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        var error = Assert.ThrowsAny<OperationCanceledException>(() => TrainingRun.Run(TorchSequenceEngine.Instance,
            pipeline, spec, training, EngineDevice.Cpu, pausedDirectory, 1, (_, _) => { }, cancel.Token));

        Assert.IsNotType<TrainingPausedException>(error);
        Assert.Empty(Directory.GetFileSystemEntries(pausedDirectory));
    }

    private static (TaskPipeline Pipeline, ModelSpec Spec, TrainingOptions Training) Problem()
    {
        var parsed = DatasetParser.Parse(new MemoryStream(Encoding.UTF8.GetBytes(TestData.SeasonalCsv())), DatasetFormat.Csv);
        var request = new TrainingJobRequest
        {
            DatasetId = "ds", ModelName = "paused",
            Task = new TaskOptions { Kind = TaskKind.Forecast, InputLength = 12, Horizon = 1 },
            Model = new ModelOptions { Cell = CellKind.Lstm, HiddenSize = 8, NumLayers = 2, Dropout = 0.3 },
            Training = new TrainingOptions { Epochs = 3, BatchSize = 8, EarlyStoppingPatience = 0, LearningRate = 0.01 },
        };
        var (resolved, errors) = TrainingRequestResolver.Resolve(request, parsed.Summary, cudaAvailable: false);
        Assert.Empty(errors);
        var pipeline = ForecastPipeline.Create(parsed.TimeSeries!, parsed.Summary, resolved!.Task!, resolved.Training!);
        var spec = resolved.Model!.ToSpec(pipeline.FeatureCount, pipeline.VocabularySize, pipeline.OutputSize);
        return (pipeline, spec, resolved.Training!);
    }

    private static double[] Losses(RunResult result) =>
        result.Progress.History.SelectMany(entry => new[] { entry.TrainLoss, entry.ValidationLoss }).ToArray();

    /// <summary>The same task, whose training examples set <c>shutdown</c> at their n-th read: a stop at a known batch.</summary>
    private sealed class StopWhenRead : TaskPipeline
    {
        private readonly TaskPipeline inner;

        [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
        public StopWhenRead(TaskPipeline inner, CancellationTokenSource shutdown, int reads)
        {
            this.inner = inner;
            Train = new CountingList(inner.Train, shutdown, reads);
            Validation = inner.Validation;
            FeatureCount = inner.FeatureCount;
            VocabularySize = inner.VocabularySize;
            OutputSize = inner.OutputSize;
            Loss = inner.Loss;
            Quantiles = inner.Quantiles;
            HeadStart = inner.HeadStart;
        }

        public override object Preprocessing => inner.Preprocessing;

        public override IReadOnlyDictionary<string, double> Metrics(float[] outputs) => inner.Metrics(outputs);

        public override ModelEvaluation Evaluate(float[] outputs) => inner.Evaluate(outputs);
    }

    private sealed class CountingList(IReadOnlyList<Example> inner, CancellationTokenSource shutdown, int reads) : IReadOnlyList<Example>
    {
        private int count;

        public Example this[int index]
        {
            get
            {
                if (++count == reads) shutdown.Cancel();
                return inner[index];
            }
        }

        public int Count => inner.Count;

        public IEnumerator<Example> GetEnumerator() => inner.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
