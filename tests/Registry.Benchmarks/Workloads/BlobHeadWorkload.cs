using Registry.Benchmarks.Load;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>Blob HEAD (docker's existence check before every layer push) at concurrency 32, ours against Distribution.</summary>
internal sealed class BlobHeadWorkload : IWorkload
{
    private const int Concurrency = 32;
    private const string Repository = "bench/blob-head";

    public string Name => "blob-head";

    public string Description => "blob HEAD, concurrency 32";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        using var clients = await context.ClientsAsync(Concurrency, cancellationToken);
        var (ours, distribution) = (clients.Ours, clients.Distribution);
        var layer = new GeneratedLayer(21, 16 * 1024);
        foreach (var client in clients.Both)
        {
            await client.PushChunkedAsync(Repository, layer, cancellationToken);
            await ReadLoad.WarmAsync(ct => client.HeadBlobAsync(Repository, layer.Digest, ct), cancellationToken);
        }
        var samples = new Samples();
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            foreach (var client in clients.Both)
            {
                await ReadLoad.MeasureAsync(samples, client.Target.Name, context.Scale.ReadsAtMany, Concurrency,
                    ct => client.HeadBlobAsync(Repository, layer.Digest, ct), cancellationToken);
            }
        }
        return ReadLoad.Rows(samples, $"blob HEAD, c={Concurrency}", ours.Target.Name, distribution.Target.Name, "Distribution", 5).ToList();
    }
}
