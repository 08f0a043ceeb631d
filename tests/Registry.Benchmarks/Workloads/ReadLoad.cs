using Registry.Benchmarks.Load;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>Closed-loop read measurements (req/s, p50, p99) for ours and a baseline, and the rows that report them.</summary>
internal static class ReadLoad
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    public static async Task MeasureAsync(
        Samples samples, string key, int requests, int concurrency, Func<CancellationToken, Task> request, CancellationToken cancellationToken)
    {
        var result = await ClosedLoop.RunAsync(requests, concurrency, Deadline, request, cancellationToken);
        samples.Add(key + " rps", result.RequestsPerSecond);
        samples.Add(key + " p50", result.PercentileMs(0.50));
        samples.Add(key + " p99", result.PercentileMs(0.99));
    }

    /// <summary>Unmeasured requests first: JIT, connection pools and tokens warm on both sides.</summary>
    public static Task WarmAsync(Func<CancellationToken, Task> request, CancellationToken cancellationToken) =>
        ClosedLoop.RunAsync(64, 8, Deadline, request, cancellationToken);

    /// <param name="throughputGoal">A minimum ratio of ours to the baseline in req/s; null to report only.</param>
    public static IEnumerable<Row> Rows(Samples samples, string workload, string ours, string baseline, string baselineName, double? throughputGoal)
    {
        var rps = samples.Median(ours + " rps");
        var baseRps = samples.Median(baseline + " rps");
        yield return throughputGoal is { } goal
            ? new Row(workload, "req/s", rps, baselineName, baseRps, Better.Higher, $"≥ {goal:0.#}× {baselineName}", rps >= goal * baseRps)
            : new Row(workload, "req/s", rps, baselineName, baseRps, Better.Higher, "report");
        yield return new Row(workload, "p50 ms", samples.Median(ours + " p50"), baselineName, samples.Median(baseline + " p50"), Better.Lower, "report");
        yield return new Row(workload, "p99 ms", samples.Median(ours + " p99"), baselineName, samples.Median(baseline + " p99"), Better.Lower, "report");
    }
}
