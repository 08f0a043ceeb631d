using System.Diagnostics;
using Registry.Benchmarks.Baselines;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// One large layer (1 GiB in full mode) pulled as docker pulls it: ours answers the blob GET with a 307 to a SAS URL
/// that the client follows to Azurite; Distribution serves the bytes itself. The ceiling reads the same SAS URL
/// straight from Azurite. Besides MB/s: the layer bytes in the registry's own response (the client sees everything
/// the registry sends it), and the registry process's CPU seconds per GiB pulled, which would show any byte it
/// relayed. (wchar in /proc/&lt;pid&gt;/io cannot tell: .NET sends on sockets with send(2), which it does not count.)
/// </summary>
internal sealed class LargePullWorkload : IWorkload
{
    private const string Repository = "bench/pull-large";

    public string Name => "pull-large";

    public string Description => "pull one large layer following the redirect: MB/s, bytes through the registry";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var size = context.Scale.LargeLayer;
        var storage = await context.StorageAsync(cancellationToken);
        using var clients = await context.ClientsAsync(4, cancellationToken);
        var (ours, distribution) = (clients.Ours, clients.Distribution);
        var distributionProcess = await context.DistributionProcessAsync(cancellationToken);
        var layer = new GeneratedLayer(20_000, size);
        var warm = new GeneratedLayer(20_001, 1024 * 1024);
        foreach (var client in clients.Both)
        {
            await client.PushChunkedAsync(Repository, layer, cancellationToken);
            await client.PushChunkedAsync(Repository, warm, cancellationToken);
            var warmed = await client.PullAsync(Repository, warm.Digest, cancellationToken);
            if (warmed.RedirectedTo is { } url)
            {
                await ours.ReadAllAsync(url, cancellationToken);
            }
        }

        var samples = new Samples();
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            var redirect = await MeasureAsync(samples, ours, layer, cancellationToken)
                ?? throw new InvalidOperationException("our registry served the blob itself instead of redirecting");
            var watch = Stopwatch.StartNew();
            var read = await ours.ReadAllAsync(redirect, cancellationToken);
            samples.Add("ceiling MB/s", read / 1e6 / watch.Elapsed.TotalSeconds);
            await MeasureAsync(samples, distribution, layer, cancellationToken);
            context.Progress($"pull-large: round {round + 1} done");
        }
        await DiskJanitor.DeleteOurLargeBlobsAsync(storage.ConnectionString, size, cancellationToken);
        DiskJanitor.DeleteDistributionBlob(distributionProcess, layer);

        var workload = $"pull {BenchmarkScale.Size(size)} layer, following the redirect";
        var oursMbps = samples.Median("ours MB/s");
        var ceilingMbps = samples.Median("ceiling MB/s");
        var oursLayerBytes = samples.Median("ours own");
        var gib = size / (1024.0 * 1024 * 1024);
        return
        [
            new(workload, "MB/s", oursMbps, "ceiling: SAS read from Azurite", ceilingMbps, Better.Higher, "≥ 0.9× ceiling", oursMbps >= 0.9 * ceilingMbps),
            new(workload, "MB/s", oursMbps, "Distribution", samples.Median("Distribution MB/s"), Better.Higher, "report"),
            new(workload, "layer bytes in the registry's response", oursLayerBytes, "Distribution", samples.Median("Distribution own"), Better.Lower,
                "0 layer bytes", oursLayerBytes == 0) { ZeroIsValid = true },
            new(workload, "registry CPU-s per GiB pulled", samples.Median("ours cpu") / gib, "Distribution", samples.Median("Distribution cpu") / gib, Better.Lower,
                "report") { ZeroIsValid = true },
        ];
    }

    /// <summary>Pulls the layer through the registry; returns the URL it redirected to, if it did.</summary>
    private static async Task<Uri?> MeasureAsync(Samples samples, OciClient client, GeneratedLayer layer, CancellationToken cancellationToken)
    {
        var cpu = CpuMeter.Start(client.Target.ProcessId);
        var watch = Stopwatch.StartNew();
        var result = await client.PullAsync(Repository, layer.Digest, cancellationToken);
        var elapsed = watch.Elapsed;
        if (result.TotalBytes - result.RegistryBodyBytes != layer.Length && result.TotalBytes != layer.Length)
        {
            throw new InvalidOperationException($"{client.Target.Name} sent {result.TotalBytes} bytes for a {layer.Length}-byte layer");
        }
        samples.Add(client.Target.Name + " MB/s", layer.Length / 1e6 / elapsed.TotalSeconds);
        samples.Add(client.Target.Name + " own", result.RegistryBodyBytes);
        samples.Add(client.Target.Name + " cpu", cpu.Seconds());
        return result.RedirectedTo;
    }
}
