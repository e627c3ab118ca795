using System.Numerics;

namespace RnnService.Training.Pipeline;

public static class SortedQuantile
{
    /// <summary>A sorted sample's quantile, interpolated linearly between order statistics (numpy's default).</summary>
    public static double Of<T>(IReadOnlyList<T> sorted, double level) where T : INumberBase<T>
    {
        var position = level * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        double low = double.CreateChecked(sorted[below]), high = double.CreateChecked(sorted[above]);
        return low + (position - below) * (high - low);
    }
}
