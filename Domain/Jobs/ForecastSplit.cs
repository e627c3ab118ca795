namespace RnnService.Domain.Jobs;

/// <summary>The chronological split of a forecast: every series gives its last steps to validation.</summary>
public static class ForecastSplit
{
    /// <summary>Steps held out at the end of a series of <paramref name="length"/> steps: at least one horizon.</summary>
    public static int HeldOutSteps(int length, int horizon, double validationFraction) =>
        Math.Max(horizon, (int)Math.Ceiling(length * validationFraction));
}
