namespace RnnService.Training.Data;

/// <summary>
/// The season of a series, found in the data: the one its time column's frequency implies when the series repeats at
/// that lag, otherwise the lag of its strongest autocorrelation peak, otherwise none (1). Autocorrelations are of the
/// series less its least-squares line, so that a trend does not make every lag look alike; of its last
/// <see cref="MaxSteps"/> steps at most.
/// </summary>
public static class Seasonality
{
    /// <summary>An autocorrelation peak at least this strong makes a lag a season.</summary>
    public const double Threshold = 0.3;

    /// <summary>The frequency's own season needs less: it is expected.</summary>
    public const double ImpliedThreshold = 0.2;

    /// <summary>The most recent steps read: enough for any season found (at most 400), and a bounded cost on upload.</summary>
    public const int MaxSteps = 20_000;

    public static int Detect(IReadOnlyList<double> series, string? frequency)
    {
        var values = series.Count > MaxSteps ? series.Skip(series.Count - MaxSteps).ToArray() : series;
        var n = values.Count;
        if (n < 4) return 1;
        // Less the least-squares line.
        double meanT = (n - 1) / 2.0, meanY = values.Average(), covariance = 0, variance = 0;
        for (var t = 0; t < n; t++)
        {
            covariance += (t - meanT) * (values[t] - meanY);
            variance += (t - meanT) * (t - meanT);
        }
        var slope = covariance / variance;
        var residuals = new double[n];
        for (var t = 0; t < n; t++) residuals[t] = values[t] - meanY - slope * (t - meanT);

        // A season needs at least two whole cycles to be seen.
        var longest = Math.Min(n / 2, 400);
        var implied = TimeFrequency.Season(frequency);
        if (implied > 1 && implied <= longest && Autocorrelation(residuals, implied) >= ImpliedThreshold) return implied;
        var r = new double[longest + 2];
        for (var lag = 1; lag <= Math.Min(longest + 1, n - 1); lag++) r[lag] = Autocorrelation(residuals, lag);
        var best = 1;
        var strongest = Threshold;
        for (var lag = 2; lag <= longest; lag++)
        {
            // Peaks only: a smooth series' autocorrelation falls from lag 1 without being seasonal.
            if (r[lag] > strongest && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1])
            {
                strongest = r[lag];
                best = lag;
            }
        }
        return best;
    }

    private static double Autocorrelation(double[] values, int lag)
    {
        double numerator = 0, denominator = 0;
        for (var t = 0; t < values.Length; t++)
        {
            denominator += values[t] * values[t];
            if (t >= lag) numerator += values[t] * values[t - lag];
        }
        return denominator > 0 ? numerator / denominator : 0;
    }
}
