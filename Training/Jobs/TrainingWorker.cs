using System.ComponentModel;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Domain.Models;
using RnnService.Training.Data;
using RnnService.Training.Engine;
using RnnService.Training.Pipeline;
using RnnService.Training.Predictions;
using RnnService.Training.Registry;
using RnnService.Training.Storage;
using RnnService.Training.Tasks;
using RnnService.Training.Torch;
using RnnService.Training.Torch.StateDicts;
using RnnService.Training.Tuning;

namespace RnnService.Training.Jobs;

/// <summary>
/// Claims queued jobs from the job store and trains them, up to the configured number at once. A bad job fails alone;
/// the worker goes on. On shutdown a running job stops before its next batch, is checkpointed there and goes back to the
/// queue, where the next claim goes on from that batch.
/// </summary>
public sealed class TrainingWorker(
    JobQueue queue,
    ModelRegistry registry,
    IDbContextFactory<RnnDbContext> contexts,
    FileStore files,
    JobSignals signals,
    StoreStatus store,
    EngineInfo engine,
    ISequenceEngine networks,
    IOptions<WorkerOptions> options,
    IOptions<JobsOptions> jobs,
    ILogger<TrainingWorker> logger) : BackgroundService
{
    /// <summary>This process's name in leases: host, process id and a random suffix.</summary>
    public string WorkerId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Ids.New("w")[2..]}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var lease = TimeSpan.FromSeconds(settings.LeaseSeconds);
        var running = new List<Task>();
        try
        {
            await store.Ready.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        logger.LogInformation("Worker {Worker} started: {Concurrency} job(s) at a time", WorkerId, settings.Concurrency);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                running.RemoveAll(task => task.IsCompleted);
                if (running.Count < settings.Concurrency)
                {
                    var expired = await queue.RequeueExpiredAsync(stoppingToken);
                    if (expired.Requeued > 0) TrainingMetrics.LeaseExpiries.Add(expired.Requeued, new KeyValuePair<string, object?>("outcome", "requeued"));
                    if (expired.Failed.Count > 0) TrainingMetrics.LeaseExpiries.Add(expired.Failed.Count, new KeyValuePair<string, object?>("outcome", "failed"));
                    foreach (var id in expired.Failed)
                        logger.LogError("Job {Job} failed: its worker died under it {Attempts} times in a row without a new checkpoint", id, jobs.Value.MaxAttempts);
                    using (var claim = Tracing.Source.StartActivity("rnnservice.job.claim"))
                    {
                        var job = await queue.TryClaimAsync(WorkerId, lease, stoppingToken);
                        // An empty poll is not worth a span: not recorded, so not exported.
                        if (job is null && claim is not null) claim.ActivityTraceFlags = ActivityTraceFlags.None;
                        if (job is not null)
                        {
                            claim?.SetTag("rnnservice.job.id", job.Id);
                            claim?.SetTag("rnnservice.worker", WorkerId);
                            // The job's run is the claim's child (the task takes the current span with it).
                            running.Add(Task.Run(() => RunJobAsync(job, stoppingToken), CancellationToken.None));
                            continue;
                        }
                    }
                }
                await signals.WaitForJobAsync(TimeSpan.FromSeconds(settings.PollSeconds), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                // The store may be briefly unreachable; the worker keeps going.
                logger.LogError(exception, "Worker {Worker} could not poll the job queue", WorkerId);
                await Task.Delay(TimeSpan.FromSeconds(settings.PollSeconds), CancellationToken.None);
            }
        }
        await Task.WhenAll(running);
    }

    private async Task RunJobAsync(TrainingJobRecord job, CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var lease = TimeSpan.FromSeconds(settings.LeaseSeconds);
        // stop: the job's owner cancelled it, or the lease was lost. halt: that or the shutdown, which training handles
        // itself (it checkpoints between batches), while preparing just gives up.
        using var stop = new CancellationTokenSource();
        using var halt = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, stoppingToken);
        var cancelRequested = false;
        var leaseLost = false;
        using var local = signals.Running(job.Id, () => { cancelRequested = true; stop.Cancel(); });
        var heartbeat = HeartbeatAsync(job.Id, lease, TimeSpan.FromSeconds(settings.HeartbeatSeconds), () =>
        {
            leaseLost = true;
            stop.Cancel();
        }, () =>
        {
            cancelRequested = true;
            stop.Cancel();
        }, stop.Token);
        using var span = Tracing.Source.StartActivity("rnnservice.job");
        span?.SetTag("rnnservice.job.id", job.Id);
        span?.SetTag("rnnservice.model", job.ModelName);
        span?.SetTag("rnnservice.job.attempt", job.Attempts);
        logger.LogInformation("Job {Job} claimed by {Worker} (attempt {Attempt})", job.Id, WorkerId, job.Attempts);
        TrainingMetrics.Claims.Add(1);
        var residentBefore = MemoryRelease.ResidentMiB();
        var release = MemoryRelease.Worthwhile(job.Estimate);
        try
        {
            // In a method of its own, so that nothing the job made (its data, its weights) is still referenced when the
            // memory is handed back below: an async method's locals live as long as the method does.
            if (job.Kind == JobKind.Prediction) await PredictAsync(job, halt.Token);
            else await TrainAndRegisterAsync(job, release, stop.Token, halt.Token, stoppingToken);
        }
        catch (Exception exception) when (exception is LeaseLostException || exception is OperationCanceledException && halt.IsCancellationRequested)
        {
            if (leaseLost || exception is LeaseLostException)
                logger.LogWarning("Job {Job}: {Worker} lost its lease; another worker resumes it", job.Id, WorkerId);
            else if (cancelRequested)
            {
                await queue.FinishAsync(job.Id, WorkerId, JobState.Cancelled, null, null, CancellationToken.None);
                TrainingMetrics.Ended.Add(1, new KeyValuePair<string, object?>("state", "cancelled"));
                logger.LogInformation("Job {Job} cancelled; its checkpoint is kept", job.Id);
            }
            else
            {
                var paused = exception as TrainingPausedException;
                await queue.ReleaseAsync(job.Id, WorkerId, paused?.Checkpointed ?? false, CancellationToken.None);
                if (paused is not null)
                    logger.LogInformation(
                        "Job {Job} stopped in epoch {Epoch} after {Done} of {Batches} batches, checkpointed and released at shutdown",
                        job.Id, paused.Epoch, paused.BatchesDone, paused.BatchCount);
                else logger.LogInformation("Job {Job} released at shutdown; it resumes from its checkpoint", job.Id);
            }
        }
        catch (Exception exception)
        {
            logger.LogError(exception, "Job {Job} failed", job.Id);
            span?.SetStatus(ActivityStatusCode.Error, exception.Message);
            await queue.FinishAsync(job.Id, WorkerId, JobState.Failed, null, FailureMessage(exception), CancellationToken.None);
            TrainingMetrics.Ended.Add(1, new KeyValuePair<string, object?>("state", "failed"));
        }
        finally
        {
            await stop.CancelAsync();
            await heartbeat;
            if (job.TuningJobId is not null) signals.TuningChanged();
            // Whatever the job allocated is garbage or freed now; give it back rather than keep it resident.
            if (release) MemoryRelease.AfterJob();
            logger.LogInformation("Job {Job}: resident memory {Before:F0} MiB before it, {After:F0} MiB after it",
                job.Id, residentBefore, MemoryRelease.ResidentMiB());
        }
    }

    /// <summary>Prepares the job's data, trains it (from its checkpoint when it has one) and registers the best epoch.</summary>
    private async Task TrainAndRegisterAsync(
        TrainingJobRecord job, bool release, CancellationToken stop, CancellationToken halt, CancellationToken stoppingToken)
    {
        var request = StoredJson.Read<TrainingJobRequest>(job.Request);
        TaskPipeline pipeline;
        using (Tracing.Source.StartActivity("rnnservice.job.prepare")) pipeline = await Task.Run(() => PrepareAsync(request, halt), halt);
        // The parsed dataset is garbage now; the training phase's estimate does not count it.
        if (release) MemoryRelease.Collect();
        var device = ChooseDevice(request.Training!.Device!.Value);
        await queue.UpdateAsync(job.Id, WorkerId, DeviceName(device), null, null, CancellationToken.None);
        var spec = request.Model!.ToSpec(pipeline.FeatureCount, pipeline.VocabularySize, pipeline.OutputSize, pipeline.PerStep);
        var checkpoints = files.CheckpointDirectory(job.Id);
        var epochs = request.Training.Epochs!.Value;
        var prune = await TrialPruningAsync(job, stop);
        var limit = TimeLimit(request.Training);
        using var reporter = new ProgressReporter(
            job.Id, job.ModelName, epochs, limit, TimeSpan.FromMilliseconds(options.Value.ProgressMilliseconds),
            job.Progress is null ? null : StoredJson.Read<JobProgress>(job.Progress),
            figures => queue.ReportAsync(job.Id, WorkerId, StoredJson.Write(figures), CancellationToken.None));
        var result = await Task.Factory.StartNew(
            () => TrainingRun.Run(networks, pipeline, spec, request.Training, device, checkpoints, job.Attempts, (entry, progress) =>
            {
                var figures = reporter.AfterEpoch(entry, progress);
                var recorded = queue.UpdateAsync(job.Id, WorkerId, null, StoredJson.Write(figures),
                    StoredJson.Write(progress.History), CancellationToken.None).GetAwaiter().GetResult();
                if (!recorded) throw new LeaseLostException();
            }, stop,
            problem => logger.LogWarning("Job {Job}: a damaged checkpoint was skipped ({Problem})", job.Id, problem), stoppingToken,
            limit, prune, reporter.AfterBatch),
            halt, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var metrics = result.Progress.BestMetrics is null ? null : StoredJson.Write(result.Progress.BestMetrics);
        var version = new ModelVersionRecord
        {
            Id = Ids.New("mv"), Name = job.ModelName, Spec = StoredJson.Write(result.Spec),
            Task = StoredJson.Write(request.Task), Preprocessing = StoredJson.Write(pipeline.Preprocessing),
            Metrics = metrics, ParameterCount = result.ParameterCount, Device = DeviceName(device),
        };
        using var registering = Tracing.Source.StartActivity("rnnservice.model.register");
        var number = await registry.RegisterFromJobAsync(job.Id, WorkerId, version, stream =>
        {
            StateDictWriter.Write(stream, result.Parameters, result.BestWeights);
            return Task.CompletedTask;
        }, metrics, result.StoppedBy, EvaluationBytes(job.Id, result.Evaluation), CancellationToken.None);
        if (number is null) logger.LogWarning("Job {Job} finished, but {Worker} no longer held it; nothing registered", job.Id, WorkerId);
        else
        {
            logger.LogInformation("Job {Job} succeeded ({StoppedBy}): {Model} version {Version}", job.Id, result.StoppedBy, job.ModelName, number);
            TrainingMetrics.Ended.Add(1, new KeyValuePair<string, object?>("state", "succeeded"));
            Directory.Delete(checkpoints, recursive: true);
        }
    }

    /// <summary>
    /// A prediction job: the model's answers over the stored dataset, written to its results file in chunks (resumed from
    /// the last chunk recorded), then the job succeeded with its counts.
    /// </summary>
    private async Task PredictAsync(TrainingJobRecord job, CancellationToken halt)
    {
        var started = Stopwatch.GetTimestamp();
        var request = StoredJson.Read<PredictionJobRequest>(job.Request);
        var selector = ModelSelector.Parse(request.Model, out var problem) ?? throw new JobFailedException($"model: {problem}");
        var record = await registry.FindAsync(selector, halt)
                     ?? throw new JobFailedException($"model {request.Model} no longer exists: it was deleted after the job was queued.");
        DatasetRecord dataset;
        await using (var context = await contexts.CreateDbContextAsync(halt))
            dataset = await context.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == job.DatasetId, halt)
                      ?? throw new JobFailedException($"dataset {job.DatasetId} no longer exists.");
        var parsed = await Task.Run(() => DatasetParser.Parse(files.DatasetPath(dataset.FileName), dataset.Format), halt);
        var spec = StoredJson.Read<ModelSpec>(record.Spec);
        var task = StoredJson.Read<TaskOptions>(record.Task);
        var served = TaskKinds.For(task.Kind!.Value).Serve(spec, task, record.Preprocessing);
        var device = ChooseDevice(DeviceChoice.Auto);
        await queue.UpdateAsync(job.Id, WorkerId, DeviceName(device), null, null, CancellationToken.None);
        ISequenceNetwork network;
        await using (var weights = File.OpenRead(files.WeightsPath(record.WeightsFile))) network = networks.Load(spec, weights, device);
        using (network)
        {
            var path = files.PredictionPath(PredictionRun.ResultsFileName(job.Id, served is Tasks.Forecast.ForecastServing));
            var resume = job.Progress is null ? null : StoredJson.Read<PredictionProgress>(job.Progress);
            var result = await Task.Factory.StartNew(
                () => PredictionRun.Run(network, served, request, parsed, path, resume, progress =>
                {
                    if (!queue.ReportAsync(job.Id, WorkerId, StoredJson.Write(progress), CancellationToken.None).GetAwaiter().GetResult())
                        throw new LeaseLostException();
                }, halt),
                halt, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var counts = new Dictionary<string, double> { ["items"] = result.Done, ["rows"] = result.Rows, ["bytes"] = result.Bytes };
            if (await queue.FinishAsync(job.Id, WorkerId, JobState.Succeeded, StoredJson.Write(counts), null, CancellationToken.None))
            {
                logger.LogInformation("Prediction job {Job} succeeded: {Items} items, {Rows} rows in {Seconds:F1} s",
                    job.Id, result.Done, result.Rows, Stopwatch.GetElapsedTime(started).TotalSeconds);
                TrainingMetrics.Ended.Add(1, new KeyValuePair<string, object?>("state", "succeeded"));
            }
        }
    }

    /// <summary>The evaluation as the version keeps it; null (and a warning) when it cannot be written, e.g. a diverged model's NaN.</summary>
    private byte[]? EvaluationBytes(string jobId, ModelEvaluation? evaluation)
    {
        if (evaluation is null) return null;
        try
        {
            return StoredJson.Bytes(evaluation);
        }
        catch (ArgumentException exception)
        {
            logger.LogWarning("Job {Job}: its validation evaluation is not kept ({Problem})", jobId, exception.Message);
            return null;
        }
    }

    /// <summary>
    /// For a trial of a tuning job with early stopping, the rule judged after each epoch against the search's other
    /// trials as the store has them; null otherwise.
    /// </summary>
    private async Task<Func<TrainerProgress, bool>?> TrialPruningAsync(TrainingJobRecord job, CancellationToken cancellationToken)
    {
        if (job.TuningJobId is not { } tuningId) return null;
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var tuning = await context.TuningJobs.AsNoTracking().SingleOrDefaultAsync(t => t.Id == tuningId, cancellationToken);
        if (tuning is null || StoredJson.Read<TuningJobRequest>(tuning.Request).Search is not { } search
            || search.EarlyStopping is not ({ } rule and not TrialStopping.None)) return null;
        return progress =>
        {
            using var siblings = contexts.CreateDbContext();
            var histories = siblings.TrainingJobs.AsNoTracking()
                .Where(j => j.TuningJobId == tuningId && j.Id != job.Id).Select(j => j.History).ToList()
                .Select(history => (IReadOnlyList<EpochEntry>)StoredJson.Read<List<EpochEntry>>(history));
            var stop = TrialRules.ShouldStop(rule, search.Metric!, progress.Epoch, progress.History, histories, TrialRules.GracePeriodOf(search));
            if (stop) logger.LogInformation("Job {Job}: trial {Trial} of {Tuning} stopped by {Rule} after epoch {Epoch}", job.Id, job.TrialNumber, tuningId, rule, progress.Epoch);
            return stop;
        };
    }

    /// <summary>The job's own limit, never beyond the server's ceiling (jobs queued before limits existed get the ceiling).</summary>
    private TimeSpan TimeLimit(TrainingOptions training)
    {
        var ceiling = jobs.Value.Limits.MaxDuration;
        var own = training.MaxDuration is { } text ? TrainingRequestResolver.ParseDuration(text) : null;
        return own is { } requested && requested < ceiling ? requested : ceiling;
    }

    private async Task<TaskPipeline> PrepareAsync(TrainingJobRequest request, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var dataset = await context.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == request.DatasetId, cancellationToken)
            ?? throw new JobFailedException($"dataset {request.DatasetId} no longer exists");
        var parsed = DatasetParser.Parse(files.DatasetPath(dataset.FileName), dataset.Format);
        return TaskKinds.For(request.Task!.Kind!.Value).Prepare(parsed, request.Task, request.Training!);
    }

    private EngineDevice ChooseDevice(DeviceChoice choice) => choice switch
    {
        DeviceChoice.Cpu => EngineDevice.Cpu,
        DeviceChoice.Cuda when !engine.CudaAvailable => throw new JobFailedException("no CUDA device on this worker"),
        DeviceChoice.Cuda => EngineDevice.Cuda(),
        _ => engine.DefaultDevice,
    };

    private static string DeviceName(EngineDevice device) => device.ToString().ToLowerInvariant();

    private async Task HeartbeatAsync(string jobId, TimeSpan lease, TimeSpan interval, Action lost, Action cancel, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, cancellationToken);
                var (held, cancelRequested) = await queue.HeartbeatAsync(jobId, WorkerId, lease, cancellationToken);
                if (!held) lost();
                else if (cancelRequested) cancel();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception exception)
            {
                // A missed beat is not fatal: the lease is several beats long.
                logger.LogWarning(exception, "Heartbeat of job {Job} failed", jobId);
            }
        }
    }

    /// <summary>What the job record says about a failure: our own messages in full, anything else by its type only.</summary>
    private static string FailureMessage(Exception exception) => exception switch
    {
        JobFailedException or TorchEngineException or DatasetParseException or InvalidOperationException or TimeLimitReachedException
            or Predictions.PredictionJobException => exception.Message,
        OutOfMemoryException =>
            "the worker could not allocate the host memory the job needs (its data, or its copies of the weights); " +
            "what it had allocated was freed. Train a smaller model or fewer examples, or lower Jobs:MaxTrainingMemoryMiB to what this machine has.",
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };

    private sealed class LeaseLostException() : Exception("the worker no longer holds the job's lease");
}

/// <summary>
/// Where a job stands, as <c>progress</c> shows it: the epochs finished and the latest one's figures, updated after every
/// epoch and, inside one, a few times a second with the batches done of the epoch under way, the training throughput
/// and estimates of the time left.
/// </summary>
public sealed record JobProgress(
    [property: Description("Epochs finished.")] int Epoch,
    [property: Description("Epochs the job runs at most.")] int Epochs,
    [property: Description("The latest finished epoch's training loss (null before the first ends).")] double? TrainLoss,
    [property: Description("The latest finished epoch's validation loss.")] double? ValidationLoss,
    [property: Description("Seconds trained so far, over every claim of the job.")] double ElapsedSeconds,
    [property: Description("The best epoch so far (0: a forecaster's untrained seasonal forecast).")] int? BestEpoch,
    [property: Description("Batches done of the epoch under way (epoch + 1); 0 just after an epoch ends.")] int? Batch = null,
    [property: Description("Batches in an epoch.")] int? Batches = null,
    [property: Description("Training sequences a second over the epoch (under way, or just finished).")] double? SequencesPerSecond = null,
    [property: Description("Estimated seconds until the epoch under way ends, its validation included.")] double? EpochEtaSeconds = null,
    [property: Description("Estimated seconds until the job ends if it runs all its epochs (early stopping may end it sooner), never past its time limit.")] double? EtaSeconds = null);

/// <summary>A job that cannot go on, for a reason worth telling its owner.</summary>
public sealed class JobFailedException(string message) : Exception(message);
