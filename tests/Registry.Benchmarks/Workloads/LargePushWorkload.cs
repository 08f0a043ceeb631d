using System.Diagnostics;
using Registry.Benchmarks.Baselines;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// One large layer (1 GiB in full mode) pushed docker-style (POST, one chunked PATCH, PUT) and containerd-style
/// (POST, PUT with Content-Length): MB/s, and the registry process's CPU seconds per GiB. Ours against the storage
/// ceiling (the same bytes staged with the SDK into the same Azurite) and against Distribution. Digests are computed
/// before the timed push, from the same seeded sequence.
/// </summary>
internal sealed class LargePushWorkload : IWorkload
{
    private const double GiB = 1024 * 1024 * 1024;

    public string Name => "push-large";

    public string Description => "push one large layer docker-style and containerd-style: MB/s, CPU-s/GiB";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var size = context.Scale.LargeLayer;
        var storage = await context.StorageAsync(cancellationToken);
        using var clients = await context.ClientsAsync(4, cancellationToken);
        var (ours, distribution) = (clients.Ours, clients.Distribution);
        var distributionProcess = await context.DistributionProcessAsync(cancellationToken);
        var ceiling = new StorageCeiling(storage.ConnectionString);
        await ceiling.PrepareAsync(cancellationToken);
        const string repository = "bench/push-large";
        await ours.PrepareAsync([repository], cancellationToken);

        var warm = new GeneratedLayer(900, 16 * 1024 * 1024);
        await ours.PushChunkedAsync(repository, warm, cancellationToken);
        await ours.PushMonolithicAsync(repository, new GeneratedLayer(901, warm.Length), cancellationToken);
        await ceiling.UploadAsync(warm, cancellationToken);
        await distribution.PushChunkedAsync(repository, warm, cancellationToken);
        await distribution.PushMonolithicAsync(repository, new GeneratedLayer(901, warm.Length), cancellationToken);

        var samples = new Samples();
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            // Docker-style: the same bytes for ours, the ceiling and Distribution; containerd-style: other bytes, so
            // our registry's content index cannot skip the commit of a digest it already holds.
            var chunked = new GeneratedLayer(10_000 + (ulong)round * 10, size);
            var monolithic = new GeneratedLayer(10_001 + (ulong)round * 10, size);
            _ = chunked.Digest;
            _ = monolithic.Digest;

            await MeasureAsync(samples, "ours chunked", size, [ours.Target.ProcessId, storage.ProcessId, Environment.ProcessId],
                () => ours.PushChunkedAsync(repository, chunked, cancellationToken));
            await MeasureAsync(samples, "ceiling", size, [storage.ProcessId, Environment.ProcessId],
                () => ceiling.UploadAsync(chunked, cancellationToken));
            await MeasureAsync(samples, "Distribution chunked", size, [distribution.Target.ProcessId],
                () => distribution.PushChunkedAsync(repository, chunked, cancellationToken));
            await MeasureAsync(samples, "ours monolithic", size, [ours.Target.ProcessId],
                () => ours.PushMonolithicAsync(repository, monolithic, cancellationToken));
            await MeasureAsync(samples, "Distribution monolithic", size, [distribution.Target.ProcessId],
                () => distribution.PushMonolithicAsync(repository, monolithic, cancellationToken));

            await DiskJanitor.DeleteOurLargeBlobsAsync(storage.ConnectionString, size, cancellationToken);
            await ceiling.DeleteAllAsync(cancellationToken);
            DiskJanitor.DeleteDistributionBlob(distributionProcess, chunked);
            DiskJanitor.DeleteDistributionBlob(distributionProcess, monolithic);
            context.Progress($"push-large: round {round + 1} done");
        }

        var gib = size / GiB;
        context.Note($"push-large: during our docker-style push Azurite used {samples.Median($"ours chunked cpu{storage.ProcessId}") / gib:F2} CPU-s/GiB "
            + $"and the load generator {samples.Median($"ours chunked cpu{Environment.ProcessId}") / gib:F2}; during the ceiling upload Azurite used "
            + $"{samples.Median($"ceiling cpu{storage.ProcessId}") / gib:F2} and this process (SDK client) {samples.Median($"ceiling cpu{Environment.ProcessId}") / gib:F2}.");
        var workload = $"push {BenchmarkScale.Size(size)} layer docker-style";
        var oursMbps = samples.Median("ours chunked MB/s");
        var ceilingMbps = samples.Median("ceiling MB/s");
        var oursCpu = samples.Median($"ours chunked cpu{ours.Target.ProcessId}") / gib;
        var monolithicWorkload = $"push {BenchmarkScale.Size(size)} layer containerd-style";
        return
        [
            new(workload, "MB/s", oursMbps, "ceiling: SDK StageBlock 4 MiB ×3", ceilingMbps, Better.Higher, "≥ 0.9× ceiling", oursMbps >= 0.9 * ceilingMbps),
            new(workload, "MB/s", oursMbps, "Distribution", samples.Median("Distribution chunked MB/s"), Better.Higher, "report"),
            new(workload, "registry CPU-s per GiB", oursCpu, "Distribution",
                samples.Median($"Distribution chunked cpu{distribution.Target.ProcessId}") / gib, Better.Lower, "≤ 1.5 CPU-s/GiB", oursCpu <= 1.5),
            // What receiving nothing and hashing nothing costs: the ceiling's client only makes the bytes and stages
            // them, which is one of the three things a registry does with every byte (receive, hash, stage).
            new(workload, "registry CPU-s per GiB", oursCpu, "ceiling's client (makes and stages the bytes)",
                samples.Median($"ceiling cpu{Environment.ProcessId}") / gib, Better.Lower, "report"),
            new(monolithicWorkload, "MB/s", samples.Median("ours monolithic MB/s"), "Distribution", samples.Median("Distribution monolithic MB/s"), Better.Higher, "report"),
            new(monolithicWorkload, "registry CPU-s per GiB", samples.Median($"ours monolithic cpu{ours.Target.ProcessId}") / gib, "Distribution",
                samples.Median($"Distribution monolithic cpu{distribution.Target.ProcessId}") / gib, Better.Lower, "report"),
        ];
    }

    /// <summary>Times one upload; records MB/s and the CPU seconds each of <paramref name="processes"/> spent meanwhile.</summary>
    private static async Task MeasureAsync(Samples samples, string key, long size, int[] processes, Func<Task> upload)
    {
        var meters = processes.Select(CpuMeter.Start).ToArray();
        var watch = Stopwatch.StartNew();
        await upload();
        var elapsed = watch.Elapsed;
        samples.Add(key + " MB/s", size / 1e6 / elapsed.TotalSeconds);
        for (var i = 0; i < processes.Length; i++)
        {
            samples.Add($"{key} cpu{processes[i]}", meters[i].Seconds());
        }
    }
}
