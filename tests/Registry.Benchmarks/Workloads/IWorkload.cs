using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>One thing measured: it sets up what it needs, runs its rounds (ours and the baselines interleaved) and returns its rows.</summary>
internal interface IWorkload
{
    /// <summary>The name <c>--only</c> takes.</summary>
    string Name { get; }

    string Description { get; }

    Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken);
}
