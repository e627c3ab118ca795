using System.Text.Json;
using RnnService.Domain.Jobs;
using RnnService.Training.Pipeline;
using RnnService.Training.Storage;
using RnnService.Training.Tuning;

namespace RnnService.Api.Tests.Tuning;

/// <summary>
/// The parts of a search that decide without training: the asha and median rules on recorded histories, and the
/// sampler's draws (seeded, within their ranges, and for TPE drawn towards where the good trials lie).
/// </summary>
public sealed class TrialRuleTests
{
    private static List<EpochEntry> History(params double[] mase) =>
        mase.Select((value, i) => new EpochEntry(i + 1, 0, value, i, 1, new Dictionary<string, double> { ["mase"] = value })).ToList();

    [Fact]
    public void AshaStopsATrialOutsideTheBestThirdAtARungOnly()
    {
        IReadOnlyList<EpochEntry>[] others = [History(0.5, 0.4, 0.3), History(0.6, 0.5, 0.45), History(0.7, 0.6, 0.55)];
        // Rung 1: 0.9 is the worst of four; 0.45 is the best.
        Assert.True(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 1, History(0.9), others, gracePeriod: 1));
        Assert.False(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 1, History(0.45), others, gracePeriod: 1));
        // Epoch 2 is no rung: nothing stops there, however bad.
        Assert.False(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 2, History(0.9, 0.9), others, gracePeriod: 1));
        // Rung 3, judged on the best so far (0.35 at epoch 2) against the others' best by epoch 3 (0.3, 0.45, 0.55).
        Assert.False(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 3, History(0.8, 0.35, 0.7), others, gracePeriod: 1));
        Assert.True(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 3, History(0.8, 0.6, 0.5), others, gracePeriod: 1));
        // With one other trial at the rung there is nothing to compare with yet.
        Assert.False(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 1, History(0.9), others.Take(1), gracePeriod: 1));
    }

    [Fact]
    public void TheGracePeriodIsAshasFirstRung()
    {
        IReadOnlyList<EpochEntry>[] others =
            [History(0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3), History(0.6, 0.5, 0.45, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4),
             History(0.7, 0.6, 0.55, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5)];
        var slowStart = History(0.9, 0.9, 0.8, 0.7, 0.6, 0.5, 0.48, 0.46, 0.45);
        // With the default of 3, epoch 1 is no rung: the worst trial there goes on; rungs are 3 and 9.
        Assert.False(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 1, slowStart, others, TrialRules.DefaultGracePeriod));
        Assert.True(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 3, slowStart, others, TrialRules.DefaultGracePeriod));
        Assert.False(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 9, History(0.9, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2), others, 3));
        Assert.True(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 9, slowStart, others, 3));
        // A grace period of 4: rungs 4, 12, 36; the median rule waits as long.
        Assert.False(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 3, slowStart, others, 4));
        Assert.True(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 4, slowStart, others, 4));
        Assert.False(TrialRules.ShouldStop(TrialStopping.Asha, "mase", 9, slowStart, others, 4));
        Assert.False(TrialRules.ShouldStop(TrialStopping.Median, "mase", 3, slowStart, others, 4));
        Assert.True(TrialRules.ShouldStop(TrialStopping.Median, "mase", 4, slowStart, others, 4));
        // Searches stored before the field: asha from epoch 1, the median rule from 3, as then.
        Assert.Equal(1, TrialRules.GracePeriodOf(new SearchOptions { EarlyStopping = TrialStopping.Asha }));
        Assert.Equal(3, TrialRules.GracePeriodOf(new SearchOptions { EarlyStopping = TrialStopping.Median }));
        Assert.Equal(5, TrialRules.GracePeriodOf(new SearchOptions { EarlyStopping = TrialStopping.Asha, GracePeriod = 5 }));
    }

    [Fact]
    public void TheMedianRuleWaitsThenStopsWhatIsWorseThanTheOthersMedian()
    {
        IReadOnlyList<EpochEntry>[] others = [History(0.5, 0.4, 0.3, 0.3), History(0.6, 0.5, 0.45, 0.4), History(0.7, 0.6, 0.55, 0.5)];
        Assert.False(TrialRules.ShouldStop(TrialStopping.Median, "mase", 2, History(0.9, 0.9), others, gracePeriod: 3));
        Assert.True(TrialRules.ShouldStop(TrialStopping.Median, "mase", 3, History(0.9, 0.9, 0.5), others, gracePeriod: 3));
        Assert.False(TrialRules.ShouldStop(TrialStopping.Median, "mase", 3, History(0.9, 0.9, 0.44), others, gracePeriod: 3));
        Assert.False(TrialRules.ShouldStop(TrialStopping.None, "mase", 3, History(9, 9, 9), others, gracePeriod: 3));
    }

    [Fact]
    public void HigherIsBetterForAccuracy()
    {
        static List<EpochEntry> Accuracy(params double[] values) =>
            values.Select((v, i) => new EpochEntry(i + 1, 0, 1, i, 1, new Dictionary<string, double> { ["accuracy"] = v })).ToList();
        IReadOnlyList<EpochEntry>[] others = [Accuracy(0.9), Accuracy(0.8), Accuracy(0.7)];
        Assert.True(TrialRules.ShouldStop(TrialStopping.Asha, "accuracy", 1, Accuracy(0.5), others, gracePeriod: 1));
        Assert.False(TrialRules.ShouldStop(TrialStopping.Asha, "accuracy", 1, Accuracy(0.95), others, gracePeriod: 1));
    }

    private static TrainingJobRecord Trial(int number, string metric, double value, double? standardError) => new()
    {
        Id = $"job_{number}", DatasetId = "ds", ModelName = "tune", Request = "{}", State = JobState.Succeeded, ModelVersion = number + 1,
        TrialNumber = number,
        Metrics = JsonSerializer.Serialize(new Dictionary<string, double> { [metric] = value }
            .Concat(standardError is { } error ? [new(TrialRules.StandardErrorName(metric), error)] : Array.Empty<KeyValuePair<string, double>>())
            .ToDictionary()),
    };

    private static SearchOptions Search(string metric, SearchSelection selection = SearchSelection.OneStandardError, bool defaults = true) =>
        new() { Metric = metric, Selection = selection, IncludeDefaults = defaults };

    [Fact]
    public void TheDefaultsStayUnlessTheBestBeatsThemByMoreThanItsStandardError()
    {
        // MASE, lower is better: trial 3 is 0.05 better than the defaults, within its standard error of 0.08.
        TrainingJobRecord[] close = [Trial(0, "mase", 0.50, 0.07), Trial(1, "mase", 0.60, 0.09), Trial(3, "mase", 0.45, 0.08)];
        var pick = TuningCoordinator.Best(close, TaskKind.Forecast, Search("mase"))!;
        Assert.Equal(0, pick.Trial.TrialNumber);
        Assert.Equal(0.50, pick.Value);
        Assert.Equal(0.07, pick.StandardError);
        Assert.Equal(3, pick.KeptOver!.Trial.TrialNumber);
        Assert.Equal(0.45, pick.KeptOver.Value);
        Assert.Equal(0.08, pick.KeptOver.StandardError);
        // Better by more than its standard error: the best.
        TrainingJobRecord[] clear = [Trial(0, "mase", 0.50, 0.07), Trial(3, "mase", 0.30, 0.08)];
        Assert.Equal(3, TuningCoordinator.Best(clear, TaskKind.Forecast, Search("mase"))!.Trial.TrialNumber);
        Assert.Null(TuningCoordinator.Best(clear, TaskKind.Forecast, Search("mase"))!.KeptOver);
        // Without a standard error (a validation part under two horizons) the difference cannot be judged: the defaults.
        TrainingJobRecord[] unmeasured = [Trial(0, "mase", 0.50, null), Trial(3, "mase", 0.10, null)];
        Assert.Equal(0, TuningCoordinator.Best(unmeasured, TaskKind.Forecast, Search("mase"))!.Trial.TrialNumber);
        // Selection best, no defaults trial, or a metric without standard errors: the best by the metric.
        Assert.Equal(3, TuningCoordinator.Best(close, TaskKind.Forecast, Search("mase", SearchSelection.Best))!.Trial.TrialNumber);
        Assert.Equal(3, TuningCoordinator.Best(close, TaskKind.Forecast, Search("mase", defaults: false))!.Trial.TrialNumber);
        TrainingJobRecord[] rmse = [Trial(0, "rmse", 0.50, null), Trial(3, "rmse", 0.45, null)];
        Assert.Equal(3, TuningCoordinator.Best(rmse, TaskKind.Forecast, Search("rmse"))!.Trial.TrialNumber);
        // A stored search from before the rule (no selection) picks the best, as it did when it ran.
        Assert.Equal(3, TuningCoordinator.Best(close, TaskKind.Forecast, new SearchOptions { Metric = "mase", IncludeDefaults = true })!.Trial.TrialNumber);
        // Defaults that failed leave the best.
        Assert.Equal(3, TuningCoordinator.Best(close.Skip(1), TaskKind.Forecast, Search("mase"))!.Trial.TrialNumber);
    }

    [Fact]
    public void ForAccuracyTheRuleLooksUpwards()
    {
        TrainingJobRecord[] trials = [Trial(0, "accuracy", 0.90, 0.02), Trial(2, "accuracy", 0.93, 0.02)];
        Assert.Equal(2, TuningCoordinator.Best(trials, TaskKind.Classification, Search("accuracy"))!.Trial.TrialNumber);
        trials[1] = Trial(2, "accuracy", 0.93, 0.04);
        var pick = TuningCoordinator.Best(trials, TaskKind.Classification, Search("accuracy"))!;
        Assert.Equal(0, pick.Trial.TrialNumber);
        Assert.Equal(2, pick.KeptOver!.Trial.TrialNumber);
        // Regression reports no standard errors: the best.
        TrainingJobRecord[] regression = [Trial(0, "mae", 0.50, null), Trial(2, "mae", 0.45, null)];
        Assert.Equal(2, TuningCoordinator.Best(regression, TaskKind.Regression, Search("mae"))!.Trial.TrialNumber);
    }

    private static readonly Dictionary<string, ParameterRange> Space = new()
    {
        ["model.hiddenSize"] = new() { Choice = [JsonSerializer.SerializeToElement(16), JsonSerializer.SerializeToElement(32), JsonSerializer.SerializeToElement(64)] },
        ["model.numLayers"] = new() { Int = [1, 3] },
        ["training.learningRate"] = new() { LogUniform = [1e-4, 1e-1] },
        ["model.dropout"] = new() { Uniform = [0, 0.5] },
    };

    [Fact]
    public void RandomDrawsAreSeededAndInRange()
    {
        var draws = Enumerable.Range(0, 50).Select(n => TrialSampler.Propose(Space, SearchStrategy.Random, 7, n, [])).ToList();
        var again = Enumerable.Range(0, 50).Select(n => TrialSampler.Propose(Space, SearchStrategy.Random, 7, n, [])).ToList();
        var otherSeed = Enumerable.Range(0, 50).Select(n => TrialSampler.Propose(Space, SearchStrategy.Random, 8, n, [])).ToList();

        Assert.Equal(draws.Select(Json), again.Select(Json));
        Assert.NotEqual(draws.Select(Json), otherSeed.Select(Json));
        Assert.All(draws, d => Assert.Contains(d["model.hiddenSize"].GetInt32(), new[] { 16, 32, 64 }));
        Assert.All(draws, d => Assert.InRange(d["model.numLayers"].GetInt64(), 1, 3));
        Assert.All(draws, d => Assert.InRange(d["training.learningRate"].GetDouble(), 1e-4, 1e-1));
        Assert.All(draws, d => Assert.InRange(d["model.dropout"].GetDouble(), 0, 0.5));
        // Every whole number of the int range is drawn, and the log-uniform range is spread over its decades.
        Assert.Equal([1L, 2L, 3L], draws.Select(d => d["model.numLayers"].GetInt64()).Distinct().Order());
        Assert.Contains(draws, d => d["training.learningRate"].GetDouble() < 1e-3);
        Assert.Contains(draws, d => d["training.learningRate"].GetDouble() > 1e-2);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TpeDrawsWhereTheGoodTrialsLie(bool byChoice)
    {
        // Sixteen trials drawn at random, scored best near learning rate 0.01, or best with 64 units.
        var random = new Random(3);
        var finished = Enumerable.Range(0, 16).Select(n =>
        {
            var draw = TrialSampler.Propose(Space, SearchStrategy.Random, 11, n, []);
            var score = byChoice
                ? (draw["model.hiddenSize"].GetInt32() == 64 ? 0 : 1) + random.NextDouble() * 0.1
                : Math.Abs(Math.Log10(draw["training.learningRate"].GetDouble()) + 2) + random.NextDouble() * 0.1;
            return new ScoredTrial(draw, score);
        }).ToList();

        var proposals = Enumerable.Range(16, 20).Select(n => TrialSampler.Propose(Space, SearchStrategy.Tpe, 11, n, finished)).ToList();
        var randomOnes = Enumerable.Range(16, 20).Select(n => TrialSampler.Propose(Space, SearchStrategy.Random, 11, n, [])).ToList();

        if (byChoice) Assert.True(proposals.Count(d => d["model.hiddenSize"].GetInt32() == 64) >= 16);
        else
        {
            static double Distance(Dictionary<string, JsonElement> d) => Math.Abs(Math.Log10(d["training.learningRate"].GetDouble()) + 2);
            Assert.True(proposals.Average(Distance) < randomOnes.Average(Distance) / 2,
                $"TPE {proposals.Average(Distance):F2} decades from 0.01, random {randomOnes.Average(Distance):F2}");
        }
        // Seeded: the same finished trials give the same proposals.
        Assert.Equal(proposals.Select(Json), Enumerable.Range(16, 20).Select(n => Json(TrialSampler.Propose(Space, SearchStrategy.Tpe, 11, n, finished))));
    }

    private static string Json(Dictionary<string, JsonElement> draw) => JsonSerializer.Serialize(draw);
}
