namespace Registry.Benchmarks.Report;

/// <summary>Which way a figure improves.</summary>
internal enum Better
{
    Higher,
    Lower,
}

/// <summary>
/// One line of the report: a figure of ours against a baseline measured in the same run (medians over the rounds).
/// <see cref="Ratio"/> is always ours ÷ baseline; <see cref="Better"/> says which way is good. <see cref="Met"/> is
/// null where the goal is only to report.
/// </summary>
internal sealed record Row(string Workload, string Metric, double Ours, string BaselineName, double? Baseline, Better Better, string Goal, bool? Met = null)
{
    /// <summary>A count whose goal is zero (bytes through the registry, storage calls): zero is a valid figure, not a failure to measure.</summary>
    public bool ZeroIsValid { get; init; }

    /// <summary>The name of the workload that produced the row (what <c>--only</c> takes).</summary>
    public string Source { get; init; } = "";

    public double? Ratio => Baseline is { } b && b != 0 ? Ours / b : null;
}

/// <summary>The rows, and the notes that explain them (breakdowns, what each figure depends on).</summary>
internal sealed record BenchmarkReport(IReadOnlyList<Row> Rows, IReadOnlyList<string> Notes, TimeSpan Elapsed);
