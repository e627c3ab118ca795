namespace RnnService.Training.Pipeline;

/// <summary>Mean and standard deviation per column, for standardising.</summary>
public sealed record ColumnScaler(double[] Mean, double[] Std)
{
    /// <summary>Fits on rows of <paramref name="width"/> values; a constant column keeps a deviation of 1.</summary>
    public static ColumnScaler Fit(IEnumerable<float[]> flatRows, int width)
    {
        var sum = new double[width];
        var squares = new double[width];
        long count = 0;
        foreach (var row in flatRows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                sum[i % width] += row[i];
                squares[i % width] += (double)row[i] * row[i];
            }
            count += row.Length / width;
        }
        var mean = new double[width];
        var std = new double[width];
        for (var c = 0; c < width; c++)
        {
            mean[c] = count > 0 ? sum[c] / count : 0;
            var variance = count > 0 ? squares[c] / count - mean[c] * mean[c] : 0;
            std[c] = variance > 1e-12 ? Math.Sqrt(variance) : 1;
        }
        return new ColumnScaler(mean, std);
    }

    /// <summary>A standardised value of <paramref name="column"/> back in the column's own scale.</summary>
    public double Restore(float value, int column) => value * Std[column] + Mean[column];

    /// <summary>Rows of standardised values (flat, a column after another) back in the columns' own scale.</summary>
    public double[] Restore(ReadOnlySpan<float> flat)
    {
        var width = Mean.Length;
        var restored = new double[flat.Length];
        for (var i = 0; i < flat.Length; i++) restored[i] = Restore(flat[i], i % width);
        return restored;
    }

    public float[] Apply(float[] flat)
    {
        var width = Mean.Length;
        var scaled = new float[flat.Length];
        for (var i = 0; i < flat.Length; i++) scaled[i] = (float)((flat[i] - Mean[i % width]) / Std[i % width]);
        return scaled;
    }
}
