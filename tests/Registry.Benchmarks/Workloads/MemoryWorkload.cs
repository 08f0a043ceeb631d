using Registry.Benchmarks.Baselines;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Peak resident memory of the registry process (VmHWM, lowered to the current size before each step by writing 5
/// to /proc/&lt;pid&gt;/clear_refs) during one small push, one large push and several concurrent large pushes,
/// docker-style. A peak is not a timing, so one round is enough: the smaller layer goes first, so memory kept from a
/// bigger step cannot inflate it.
/// </summary>
internal sealed class MemoryWorkload : IWorkload
{
    private const string Repository = "bench/memory";

    public string Name => "memory";

    public string Description => "peak RSS of the registry during pushes: small, large, several large at once";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var scale = context.Scale;
        var storage = await context.StorageAsync(cancellationToken);
        using var clients = await context.ClientsAsync(scale.ConcurrentPushes, cancellationToken);
        var ours = clients.Ours;
        var distributionProcess = await context.DistributionProcessAsync(cancellationToken);
        await ours.PrepareAsync([Repository], cancellationToken);
        var steps = new (string Key, long Size, int Count)[]
        {
            ("small", scale.MemorySmallLayer, 1),
            ("large", scale.MemoryLargeLayer, 1),
            ("concurrent", scale.MemoryLargeLayer, scale.ConcurrentPushes),
        };
        var samples = new Samples();
        var series = 30_000UL;
        foreach (var (key, size, count) in steps)
        {
            foreach (var client in clients.Both)
            {
                var layers = Enumerable.Range(0, count).Select(i => new GeneratedLayer(series++, size)).ToList();
                Parallel.ForEach(layers, layer => _ = layer.Digest);
                var pid = client.Target.ProcessId;
                var before = ProcFs.RssBytes(pid);
                ProcFs.ResetPeakRss(pid);
                await Task.WhenAll(layers.Select(layer => client.PushChunkedAsync(Repository, layer, cancellationToken)));
                samples.Add($"{client.Target.Name} {key}", ProcFs.PeakRssBytes(pid) / 1e6);
                context.Note($"memory: {client.Target.Name} was resident at {before / 1e6:F0} MB before the {count} × {BenchmarkScale.Size(size)} push(es), peaked at {ProcFs.PeakRssBytes(pid) / 1e6:F0} MB.");
                foreach (var layer in layers)
                {
                    DiskJanitor.DeleteDistributionBlob(distributionProcess, layer);
                }
            }
            await DiskJanitor.DeleteOurLargeBlobsAsync(storage.ConnectionString, size, cancellationToken);
            context.Progress($"memory: {key} step done");
        }

        var small = BenchmarkScale.Size(scale.MemorySmallLayer);
        var large = BenchmarkScale.Size(scale.MemoryLargeLayer);
        const string workload = "peak RSS of the registry process";
        var concurrent = samples.Median("ours concurrent");
        var growth = samples.Median("ours large") / samples.Median("ours small");
        return
        [
            new(workload, $"MB, one {small} push", samples.Median("ours small"), "Distribution", samples.Median("Distribution small"), Better.Lower, "report"),
            new(workload, $"MB, one {large} push", samples.Median("ours large"), "Distribution", samples.Median("Distribution large"), Better.Lower, "report"),
            new(workload, $"MB, {scale.ConcurrentPushes} concurrent {large} pushes", concurrent, "Distribution",
                samples.Median("Distribution concurrent"), Better.Lower, "≤ 250 MB", concurrent <= 250),
            new(workload, $"growth, one {large} ÷ one {small} push", growth, "Distribution",
                samples.Median("Distribution large") / samples.Median("Distribution small"), Better.Lower, "flat (≤ 1.1)", growth <= 1.1),
        ];
    }
}
