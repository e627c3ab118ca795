using System.Globalization;

namespace RnnService.Domain.Budgets;

/// <summary>Byte and element counts as people read them in messages: "25.3 GiB", "1.6 billion".</summary>
public static class Sizes
{
    public const long MiB = 1L << 20;

    /// <summary>Bytes in binary units, three significant figures: 812 bytes, 4.0 KiB, 25.3 GiB, 1.50 TiB.</summary>
    public static string Bytes(long bytes)
    {
        if (bytes < 1024) return bytes.ToString("N0", CultureInfo.InvariantCulture) + " bytes";
        string[] units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double value = bytes;
        var unit = -1;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        var format = value >= 100 ? "F0" : value >= 10 ? "F1" : "F2";
        return value.ToString(format, CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>A count in words past a million (1.6 billion), with separators below (132,096).</summary>
    public static string Count(long count)
    {
        if (count < 1_000_000) return count.ToString("N0", CultureInfo.InvariantCulture);
        (double Scale, string Word)[] words = [(1e18, "quintillion"), (1e15, "quadrillion"), (1e12, "trillion"), (1e9, "billion"), (1e6, "million")];
        var (scale, word) = words.First(w => count >= w.Scale);
        var value = count / scale;
        return value.ToString(value >= 100 ? "F0" : "0.#", CultureInfo.InvariantCulture) + " " + word;
    }

    /// <summary>
    /// The product of non-negative factors, or <see cref="long.MaxValue"/> when it does not fit in 64 bits: a size that
    /// large is over every budget, and saying so beats wrapping around to a small or negative number.
    /// </summary>
    public static long Product(params ReadOnlySpan<long> factors)
    {
        long product = 1;
        foreach (var factor in factors)
        {
            if (factor < 0) throw new ArgumentOutOfRangeException(nameof(factors), factor, "sizes are not negative");
            if (factor == 0) return 0;
            if (product > long.MaxValue / factor) return long.MaxValue;
            product *= factor;
        }
        return product;
    }

    /// <summary>The sum of non-negative sizes, saturating at <see cref="long.MaxValue"/> like <see cref="Product"/>.</summary>
    public static long Sum(params ReadOnlySpan<long> terms)
    {
        long sum = 0;
        foreach (var term in terms)
        {
            if (term < 0) throw new ArgumentOutOfRangeException(nameof(terms), term, "sizes are not negative");
            sum = term > long.MaxValue - sum ? long.MaxValue : sum + term;
        }
        return sum;
    }

    /// <summary><paramref name="bytes"/> scaled by a measured factor, saturating; negative factors count as 0.</summary>
    public static long Scale(long bytes, double factor)
    {
        var scaled = bytes * Math.Max(0, factor);
        return scaled >= long.MaxValue ? long.MaxValue : (long)Math.Ceiling(scaled);
    }
}
