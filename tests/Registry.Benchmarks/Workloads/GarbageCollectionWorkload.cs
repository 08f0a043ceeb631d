using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Online garbage collection: what a run costs per deleted image over a small and a large registry
/// (<see cref="CollectionRunCost"/>), and what a collector running back to back costs pushes and pulls, and whether
/// any pull of a kept image fails (<see cref="CollectionUnderLoad"/>).
/// </summary>
internal sealed class GarbageCollectionWorkload : IWorkload
{
    /// <summary>How far past a grace period the clock is moved, so a review is due whatever the rounding.</summary>
    public static readonly TimeSpan PastGrace = TimeSpan.FromMinutes(1);

    public string Name => "gc";

    public string Description => "a collection run's cost over few and many untouched images; pushes and pulls while a collector loops";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken) =>
        [.. await CollectionRunCost.MeasureAsync(context, cancellationToken), .. await CollectionUnderLoad.MeasureAsync(context, cancellationToken)];
}
