using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RnnService.Domain.Datasets;
using RnnService.Domain.Jobs;
using RnnService.Training.Jobs;
using RnnService.Training.Pipeline;
using RnnService.Training.Registry;
using RnnService.Training.Storage;
using RnnService.Training.Tasks;

namespace RnnService.Training.Tuning;

/// <summary>
/// Carries tuning jobs on, in every worker process: queues each search's next trials as training jobs while fewer than
/// <c>maxParallel</c> are unfinished, and once every trial has ended registers the best one's model as the next version
/// of the search's <c>modelName</c>. It keeps no state of its own: each pass reads the search and its trials from the
/// store, a trial's number is unique within its search (two coordinators cannot both create trial k), and the search
/// ends with a conditional update in the transaction that registers its model, so any number of coordinators may
/// run, and any may die.
/// </summary>
public sealed class TuningCoordinator(
    IDbContextFactory<RnnDbContext> contexts, JobQueue queue, JobSignals signals, ModelRegistry registry, FileStore files,
    IOptions<JobsOptions> jobs, TimeProvider time, ILogger<TuningCoordinator> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using (var context = await contexts.CreateDbContextAsync(stoppingToken))
                {
                    var active = await context.TuningJobs.AsNoTracking()
                        .Where(t => t.State == JobState.Queued || t.State == JobState.Running)
                        .OrderBy(t => t.CreatedAt).Select(t => t.Id).ToListAsync(stoppingToken);
                    foreach (var id in active) await AdvanceAsync(id, stoppingToken);
                }
                await signals.WaitForTuningAsync(TimeSpan.FromSeconds(1), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                // The store may be briefly unreachable; the coordinator keeps going.
                logger.LogError(exception, "The tuning coordinator could not advance its searches");
                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            }
        }
    }

    /// <summary>One step of a search: cancel, start, queue trials, or finish, as its trials say.</summary>
    public async Task AdvanceAsync(string id, CancellationToken cancellationToken)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var tuning = await context.TuningJobs.AsNoTracking().SingleAsync(t => t.Id == id, cancellationToken);
        if (tuning.State.IsFinal()) return;
        var request = StoredJson.Read<TuningJobRequest>(tuning.Request);
        var search = request.Search!;
        var trials = await Trials(context, id, cancellationToken);

        if (tuning.CancelRequested)
        {
            foreach (var trial in await queue.CancelTrialsAsync(id, cancellationToken)) signals.Cancel(trial);
            if ((await Trials(context, id, cancellationToken)).All(t => t.State.IsFinal()))
                await EndAsync(context, id, JobState.Cancelled, null, cancellationToken);
            return;
        }
        if (tuning.State == JobState.Queued)
            await context.TuningJobs.Where(t => t.Id == id && t.State == JobState.Queued)
                .ExecuteUpdateAsync(set => set.SetProperty(t => t.State, JobState.Running).SetProperty(t => t.UpdatedAt, Now), cancellationToken);

        var unfinished = trials.Count(t => !t.State.IsFinal());
        var next = trials.Count;
        while (next < search.MaxTrials && unfinished < search.MaxParallel)
        {
            // TPE rounds: trial k's values come from every trial of the rounds before its own, so they must all have ended;
            // then the same seed and results give the same trials whatever order they finished in.
            var round = next / search.MaxParallel!.Value;
            var earlier = trials.Where(t => t.TrialNumber < round * search.MaxParallel).ToList();
            if (search.Strategy == SearchStrategy.Tpe && earlier.Any(t => !t.State.IsFinal())) break;
            var scored = search.Strategy == SearchStrategy.Tpe ? Scored(earlier, search.Metric!) : [];
            var parameters = next == 0 && search.IncludeDefaults == true
                ? new Dictionary<string, JsonElement>()
                : TrialSampler.Propose(search.Space!, search.Strategy!.Value, search.Seed!.Value, next, scored);
            var created = await CreateTrialAsync(context, tuning, request, next, parameters, cancellationToken);
            if (created is null) return; // another coordinator created it first: the next pass sees it
            trials.Add(created);
            if (!created.State.IsFinal()) unfinished++;
            next++;
        }
        if (next >= search.MaxTrials && trials.All(t => t.State.IsFinal())) await FinishAsync(context, tuning, request, trials, cancellationToken);
    }

    private static Task<List<TrainingJobRecord>> Trials(RnnDbContext context, string id, CancellationToken cancellationToken) =>
        context.TrainingJobs.AsNoTracking().Where(j => j.TuningJobId == id).OrderBy(j => j.TrialNumber).ToListAsync(cancellationToken);

    private DateTime Now => StoredTime.Now(time);

    /// <summary>Finished trials with a value of the metric, as the sampler scores them.</summary>
    private static List<ScoredTrial> Scored(IEnumerable<TrainingJobRecord> trials, string metric) =>
        trials.Where(t => t.State == JobState.Succeeded && t.TrialParameters is not null)
            .Select(t => (Trial: t, Value: Value(t, metric)))
            .Where(t => t.Value is not null)
            .Select(t => new ScoredTrial(StoredJson.Read<Dictionary<string, JsonElement>>(t.Trial.TrialParameters!), TrialRules.Score(metric, t.Value!.Value)))
            .ToList();

    /// <summary>
    /// The search's pick among its succeeded trials, null while none has a value of the metric: the best by the metric
    /// (ties to the earlier), or under <see cref="SearchSelection.OneStandardError"/> the defaults (trial 0) while the best
    /// beats them by no more than its own standard error (or has none: a forecast validated on less than two horizons).
    /// This is the one-standard-error rule (Hastie, Tibshirani and Friedman, The Elements of Statistical Learning, 7.10),
    /// with the defaults as the model preferred when the evidence does not separate them, as a trained forecast's epochs
    /// are judged against the seasonal forecast.
    /// </summary>
    public static SearchPick? Best(IEnumerable<TrainingJobRecord> trials, TaskKind kind, SearchOptions search)
    {
        var metric = search.Metric!;
        var ranked = trials.Where(t => t.State == JobState.Succeeded && t.ModelVersion is not null)
            .Select(t => (Trial: t, Value: Value(t, metric)))
            .Where(t => t.Value is not null)
            .OrderBy(t => TrialRules.Score(metric, t.Value!.Value)).ThenBy(t => t.Trial.TrialNumber)
            .ToList();
        if (ranked.Count == 0) return null;
        var (best, value) = (ranked[0].Trial, ranked[0].Value!.Value);
        var error = StandardError(best, metric);
        if (search.Selection == SearchSelection.OneStandardError && search.IncludeDefaults == true && best.TrialNumber != 0
            && TrialRules.HasStandardError(kind, metric) && ranked.Find(t => t.Trial.TrialNumber == 0) is { Trial: { } defaults } kept
            && (error is null || TrialRules.Score(metric, kept.Value!.Value) - TrialRules.Score(metric, value) <= error))
            return new SearchPick(defaults, kept.Value!.Value, StandardError(defaults, metric), new(best, value, error));
        return new SearchPick(best, value, error, null);
    }

    /// <summary>A succeeded trial's standard error of the metric, as its job reported it; null when it has none.</summary>
    public static double? StandardError(TrainingJobRecord trial, string metric) =>
        metric != "validationLoss" && trial.Metrics is { } json
        && StoredJson.Read<Dictionary<string, double>>(json).TryGetValue(TrialRules.StandardErrorName(metric), out var value) && double.IsFinite(value)
            ? value : null;

    /// <summary>A succeeded trial's value of the metric: its kept epoch's, or for validationLoss the lowest it recorded.</summary>
    public static double? Value(TrainingJobRecord trial, string metric)
    {
        if (metric == "validationLoss")
        {
            var losses = StoredJson.Read<List<EpochEntry>>(trial.History).Select(e => e.ValidationLoss).Where(double.IsFinite).ToList();
            return losses.Count > 0 ? losses.Min() : null;
        }
        return trial.Metrics is { } json && StoredJson.Read<Dictionary<string, double>>(json).TryGetValue(metric, out var value) && double.IsFinite(value)
            ? value : null;
    }

    /// <summary>
    /// Queues trial <paramref name="number"/> (its model trains as a version of the model named by the search's id), or
    /// records it failed when its values do not train (a combination over the budgets); null when it exists already.
    /// </summary>
    private async Task<TrainingJobRecord?> CreateTrialAsync(
        RnnDbContext context, TuningJobRecord tuning, TuningJobRequest request, int number, Dictionary<string, JsonElement> parameters,
        CancellationToken cancellationToken)
    {
        var dataset = await context.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == tuning.DatasetId, cancellationToken);
        var job = new TrainingJobRecord
        {
            Id = Ids.New("job"), DatasetId = tuning.DatasetId, ModelName = tuning.Id, Request = "{}", ClientId = tuning.ClientId,
            TuningJobId = tuning.Id, TrialNumber = number, TrialParameters = StoredJson.Write(parameters),
        };
        string? problem = null;
        try
        {
            var trial = SearchSpace.Apply(request, parameters) with { ModelName = tuning.Id };
            job.Request = StoredJson.Write(trial);
            if (dataset is null) problem = $"its dataset '{tuning.DatasetId}' no longer exists.";
            else
            {
                var resolution = TrainingRequestResolver.Resolve(
                    trial, StoredJson.Read<DatasetSummary>(dataset.Summary), cudaAvailable: true, jobs.Value.Limits, dataset.SizeBytes);
                if (resolution.Request is { } resolved)
                {
                    job.Request = StoredJson.Write(resolved);
                    job.Estimate = StoredJson.Write(resolution.Estimate);
                }
                else problem = "its values do not train: " + string.Join("; ", resolution.Errors.Select(e => $"{e.Field} {e.Message}"));
            }
        }
        catch (JsonException exception)
        {
            problem = $"its values do not fit the request: {exception.Message}";
        }
        try
        {
            if (problem is null)
            {
                await queue.EnqueueAsync(job, cancellationToken);
                signals.JobQueued();
                logger.LogInformation("Tuning job {Tuning}: trial {Trial} queued as {Job}", tuning.Id, number, job.Id);
            }
            else
            {
                job.State = JobState.Failed;
                job.Error = problem;
                job.CreatedAt = job.UpdatedAt = Now;
                job.FinishedAt = job.CreatedAt;
                context.TrainingJobs.Add(job);
                await context.SaveChangesAsync(cancellationToken);
                logger.LogWarning("Tuning job {Tuning}: trial {Trial} failed before it started: {Problem}", tuning.Id, number, problem);
            }
            return job;
        }
        catch (DbUpdateException)
        {
            context.ChangeTracker.Clear();
            return null;
        }
    }

    /// <summary>
    /// Every trial has ended: the search's pick (<see cref="Best"/>) is registered as the next version of the
    /// search's model name in the transaction that marks the search succeeded; with none, the search fails.
    /// </summary>
    private async Task FinishAsync(
        RnnDbContext context, TuningJobRecord tuning, TuningJobRequest request, List<TrainingJobRecord> trials, CancellationToken cancellationToken)
    {
        var metric = request.Search!.Metric!;
        var best = Best(trials, request.Task!.Kind!.Value, request.Search)?.Trial;
        if (best is null)
        {
            var first = trials.FirstOrDefault(t => t.Error is not null)?.Error;
            await EndAsync(context, tuning.Id, JobState.Failed,
                $"no trial succeeded with a value of {metric}{(first is null ? "" : $"; the first failure: {first}")}", cancellationToken);
            return;
        }
        var source = await registry.FindAsync(tuning.Id, best.ModelVersion, cancellationToken)
            ?? throw new InvalidOperationException($"trial {best.Id}'s model {tuning.Id}:{best.ModelVersion} is missing");
        var version = new ModelVersionRecord
        {
            Id = Ids.New("mv"), Name = tuning.ModelName, Spec = source.Spec, Task = source.Task, Preprocessing = source.Preprocessing,
            Metrics = source.Metrics, ParameterCount = source.ParameterCount, Device = source.Device,
        };
        var number = await registry.RegisterFromTuningAsync(tuning.Id, best.Id, version, async stream =>
        {
            await using var weights = File.OpenRead(files.WeightsPath(source.WeightsFile));
            await weights.CopyToAsync(stream, cancellationToken);
        }, File.Exists(registry.EvaluationPath(source)) ? await File.ReadAllBytesAsync(registry.EvaluationPath(source), cancellationToken) : null,
            cancellationToken);
        if (number is not null)
            logger.LogInformation("Tuning job {Tuning} succeeded: trial {Trial} ({Job}) is {Model} version {Version}",
                tuning.Id, best.TrialNumber, best.Id, tuning.ModelName, number);
    }

    private async Task EndAsync(RnnDbContext context, string id, JobState state, string? error, CancellationToken cancellationToken)
    {
        var now = Now;
        await context.TuningJobs.Where(t => t.Id == id && (t.State == JobState.Queued || t.State == JobState.Running))
            .ExecuteUpdateAsync(set => set
                .SetProperty(t => t.State, state)
                .SetProperty(t => t.Error, error)
                .SetProperty(t => t.FinishedAt, now)
                .SetProperty(t => t.UpdatedAt, now), cancellationToken);
        logger.LogInformation("Tuning job {Tuning} ended {State}{Error}", id, state, error is null ? "" : ": " + error);
    }
}

/// <summary>A trial and its value of the search's metric, with that value's standard error when its job reported one.</summary>
public sealed record TrialValue(TrainingJobRecord Trial, double Value, double? StandardError);

/// <summary>
/// The trial a search returns, its value and standard error, and when the one-standard-error rule kept the defaults,
/// the trial that validated best (<see cref="KeptOver"/>).
/// </summary>
public sealed record SearchPick(TrainingJobRecord Trial, double Value, double? StandardError, TrialValue? KeptOver);
