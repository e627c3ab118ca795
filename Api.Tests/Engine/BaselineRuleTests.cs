using RnnService.Training.Pipeline;

namespace RnnService.Api.Tests.Engine;

/// <summary>
/// The one-standard-error rule that keeps a forecaster's untrained baseline (its head start) unless a trained epoch
/// beats it clearly on validation: computed by hand on pinball losses of small validation sets.
/// </summary>
public sealed class BaselineRuleTests
{
    private static readonly double[] Median = [0.5];

    private static Example Window(params float[] targets) => new([0f], null, 1, targets, 0);

    [Fact]
    public void OneValidationWindowNeverOverturnsTheBaseline()
    {
        // A perfect forecast of the only window is still not evidence.
        Assert.False(TrainingRun.BeatsBaseline([Window(1, 2)], [1, 2], 2, [0, 0], Median));
    }

    [Fact]
    public void AConsistentGainOverManyWindowsIsKept()
    {
        // Trained losses 0.05 ± a little on every window; the baseline's 0.5: far more than a standard error apart.
        var windows = Enumerable.Range(0, 8).Select(i => Window(1f + i % 2 * 0.1f)).ToArray();
        var outputs = windows.Select((w, i) => w.Targets![0] - (i % 2 == 0 ? 0.1f : 0.08f)).ToArray();
        Assert.True(TrainingRun.BeatsBaseline(windows, outputs, 1, [0], Median));
    }

    [Fact]
    public void AGainWithinTheNoiseKeepsTheBaseline()
    {
        // Baseline 0 against targets ±1: loss 0.5 on every window. Trained exactly on three windows and 1.8 off on the
        // fourth: losses 0, 0, 0, 0.9, mean 0.225 with standard error 0.225, and 0.45 < 0.5 keeps it. 2.2 off on the
        // fourth: mean 0.275, standard error 0.275, and 0.55 ≥ 0.5 keeps the baseline.
        var windows = new[] { Window(1), Window(-1), Window(1), Window(-1) };
        Assert.True(TrainingRun.BeatsBaseline(windows, [1, -1, 1, 0.8f], 1, [0], Median));
        Assert.False(TrainingRun.BeatsBaseline(windows, [1, -1, 1, 1.2f], 1, [0], Median));
    }

    [Fact]
    public void QuantileOutputsAreScoredAtTheirOwnLevels()
    {
        // Two levels per value: a baseline whose 0.9 level sits below every target pays 0.9 per unit, one above it 0.1.
        double[] levels = [0.1, 0.9];
        var windows = Enumerable.Range(0, 6).Select(_ => Window(1)).ToArray();
        var wellPlaced = windows.SelectMany(_ => new[] { 0.9f, 1.1f }).ToArray();
        Assert.True(TrainingRun.BeatsBaseline(windows, wellPlaced, 2, [0f, 0f], levels));
        Assert.False(TrainingRun.BeatsBaseline(windows, wellPlaced, 2, [0.9f, 1.1f], levels));
    }
}
