namespace Registry.Benchmarks.Report;

internal static class Stats
{
    /// <summary>The middle value (the upper one of the two middles for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? throw new InvalidOperationException("median of nothing") : sorted[sorted.Length / 2];
    }

    /// <summary>Nearest-rank percentile: the smallest value with at least <paramref name="fraction"/> of them at or below it.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double fraction)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new InvalidOperationException("percentile of nothing");
        }
        var rank = (int)Math.Ceiling(fraction * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
