using System.Text.Json;
using RnnService.Domain.Jobs;

namespace RnnService.Training.Tuning;

/// <summary>A finished trial as the sampler sees it: its values and its score (lower is better).</summary>
public sealed record ScoredTrial(IReadOnlyDictionary<string, JsonElement> Parameters, double Score);

/// <summary>
/// Chooses a trial's values. Everything random draws from a generator seeded by the search's seed and the trial's
/// number, so the same seed, space and (for TPE) finished trials give the same values wherever they are drawn.
/// </summary>
public static class TrialSampler
{
    /// <summary>TPE starts once this many trials have finished; before, trials are drawn at random.</summary>
    public const int TpeStartup = 4;

    /// <summary>The share of finished trials TPE counts as good (Bergstra et al. 2011; Optuna's default is near it).</summary>
    private const double Gamma = 0.25;

    private const int Candidates = 24;

    public static Dictionary<string, JsonElement> Propose(
        IReadOnlyDictionary<string, ParameterRange> space, SearchStrategy strategy, long seed, int trial, IReadOnlyList<ScoredTrial> finished)
    {
        var random = new Random(Mix(seed, trial));
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var usable = finished.Where(t => double.IsFinite(t.Score)).OrderBy(t => t.Score).ToList();
        var tpe = strategy == SearchStrategy.Tpe && usable.Count >= TpeStartup;
        var goodCount = Math.Max(1, (int)Math.Ceiling(Gamma * usable.Count));
        foreach (var path in space.Keys.Order(StringComparer.Ordinal))
        {
            var range = space[path];
            if (!tpe)
            {
                values[path] = Draw(range, random);
                continue;
            }
            var good = usable.Take(goodCount).Select(t => t.Parameters.GetValueOrDefault(path)).Where(v => v.ValueKind != JsonValueKind.Undefined).ToList();
            var bad = usable.Skip(goodCount).Select(t => t.Parameters.GetValueOrDefault(path)).Where(v => v.ValueKind != JsonValueKind.Undefined).ToList();
            values[path] = range.Choice is { } choice ? TpeChoice(choice, good, bad, random) : TpeNumber(range, good, bad, random);
        }
        return values;
    }

    /// <summary>A value drawn uniformly from the range (log-uniformly for logUniform).</summary>
    private static JsonElement Draw(ParameterRange range, Random random)
    {
        if (range.Choice is { } choice) return choice[random.Next(choice.Count)];
        var (low, high) = Bounds(range);
        return Value(range, low + random.NextDouble() * (high - low));
    }

    /// <summary>The range's bounds where it is sampled: logarithms for logUniform, widened by half a step for int.</summary>
    private static (double Low, double High) Bounds(ParameterRange range) =>
        range.Int is { } i ? (i[0] - 0.5, i[1] + 0.4999)
        : range.LogUniform is { } l ? (Math.Log(l[0]), Math.Log(l[1]))
        : (range.Uniform![0], range.Uniform[1]);

    private static double Position(ParameterRange range, JsonElement value) =>
        range.LogUniform is not null ? Math.Log(value.GetDouble()) : value.GetDouble();

    /// <summary>A sampled position as the field's value: rounded for int, four significant digits otherwise.</summary>
    private static JsonElement Value(ParameterRange range, double position)
    {
        if (range.Int is { } i) return JsonSerializer.SerializeToElement((long)Math.Clamp(Math.Round(position), i[0], i[1]));
        var value = range.LogUniform is { } l ? Math.Clamp(Math.Exp(position), l[0], l[1]) : position;
        if (value != 0)
        {
            var digits = Math.Clamp(3 - (int)Math.Floor(Math.Log10(Math.Abs(value))), 0, 15);
            value = Math.Round(value, digits);
        }
        return JsonSerializer.SerializeToElement(value);
    }

    /// <summary>
    /// TPE for numbers: candidates drawn from the good trials' Parzen density (Gaussians at their values plus the
    /// uniform prior), and the one where good density over bad density is highest.
    /// </summary>
    private static JsonElement TpeNumber(ParameterRange range, List<JsonElement> good, List<JsonElement> bad, Random random)
    {
        var (low, high) = Bounds(range);
        var width = high - low;
        if (width <= 0) return Value(range, low);
        var goodPoints = good.Select(v => Position(range, v)).ToArray();
        var badPoints = bad.Select(v => Position(range, v)).ToArray();
        double Bandwidth(int count) => width * Math.Max(0.05, 0.25 * Math.Pow(count + 1, -0.2));
        double Density(double x, double[] points)
        {
            var sigma = Bandwidth(points.Length);
            var sum = 1 / width; // the prior, as one more point
            foreach (var p in points) sum += Math.Exp(-0.5 * Math.Pow((x - p) / sigma, 2)) / (sigma * Math.Sqrt(2 * Math.PI));
            return sum / (points.Length + 1);
        }
        var best = double.NaN;
        var bestRatio = double.NegativeInfinity;
        for (var c = 0; c < Candidates; c++)
        {
            double x;
            if (goodPoints.Length == 0 || random.Next(goodPoints.Length + 1) == 0) x = low + random.NextDouble() * width;
            else
            {
                // Truncated at the bounds by drawing again (clamping would pile candidates up on a bound).
                var centre = goodPoints[random.Next(goodPoints.Length)];
                do x = centre + Gaussian(random) * Bandwidth(goodPoints.Length);
                while (x < low || x > high);
            }
            var ratio = Density(x, goodPoints) / Density(x, badPoints);
            if (ratio > bestRatio)
            {
                bestRatio = ratio;
                best = x;
            }
        }
        return Value(range, best);
    }

    /// <summary>TPE for a choice: each value's share among the good trials against its share among the bad, both smoothed by one.</summary>
    private static JsonElement TpeChoice(IReadOnlyList<JsonElement> choice, List<JsonElement> good, List<JsonElement> bad, Random random)
    {
        double Share(JsonElement value, List<JsonElement> trials) =>
            (trials.Count(t => JsonElement.DeepEquals(t, value)) + 1.0) / (trials.Count + choice.Count);
        var weights = choice.Select(v => Share(v, good)).ToArray();
        JsonElement? best = null;
        var bestRatio = double.NegativeInfinity;
        for (var c = 0; c < Candidates; c++)
        {
            // A candidate drawn from the good trials' smoothed shares.
            var pick = random.NextDouble() * weights.Sum();
            var index = 0;
            while (index < weights.Length - 1 && (pick -= weights[index]) > 0) index++;
            var ratio = weights[index] / Share(choice[index], bad);
            if (ratio > bestRatio)
            {
                bestRatio = ratio;
                best = choice[index];
            }
        }
        return best!.Value;
    }

    /// <summary>
    /// A generator seed from the search's seed and the trial's number, mixed (SplitMix64's finaliser) so that nearby
    /// seeds and trials draw unrelated values: System.Random's first draws follow nearby seeds closely.
    /// </summary>
    private static int Mix(long seed, int trial)
    {
        var z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)trial + 1);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) & int.MaxValue);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
