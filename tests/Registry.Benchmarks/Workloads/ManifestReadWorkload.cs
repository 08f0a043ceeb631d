using Registry.Benchmarks.Load;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>Manifest GET and HEAD by tag with docker's Accept header, at concurrency 1 and 32, ours against Distribution.</summary>
internal sealed class ManifestReadWorkload : IWorkload
{
    private const string Repository = "bench/manifest-read";
    private const string Tag = "latest";

    private static readonly bool[] Methods = [false, true];
    private static readonly int[] Concurrencies = [1, 32];

    public string Name => "manifest-read";

    public string Description => "manifest GET and HEAD by tag, concurrency 1 and 32";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        using var clients = await context.ClientsAsync(32, cancellationToken);
        var (ours, distribution) = (clients.Ours, clients.Distribution);
        foreach (var client in clients.Both)
        {
            await ImagePusher.PushAsync(client, Repository, Tag, 11, [2048, 4096, 8192], cancellationToken);
        }
        var cases = (from head in Methods from concurrency in Concurrencies select (head, concurrency)).ToList();
        foreach (var client in clients.Both)
        {
            foreach (var head in Methods)
            {
                await ReadLoad.WarmAsync(ct => client.GetManifestAsync(Repository, Tag, head, ct), cancellationToken);
            }
        }
        var samples = new Samples();
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            foreach (var (head, concurrency) in cases)
            {
                var requests = concurrency == 1 ? context.Scale.ReadsAtOne : context.Scale.ReadsAtMany;
                foreach (var client in clients.Both)
                {
                    await ReadLoad.MeasureAsync(samples, Key(client, head, concurrency), requests, concurrency,
                        ct => client.GetManifestAsync(Repository, Tag, head, ct), cancellationToken);
                }
            }
            context.Progress($"manifest-read: round {round + 1} done");
        }
        return cases.SelectMany(c => ReadLoad.Rows(samples, $"manifest {(c.head ? "HEAD" : "GET")} by tag, c={c.concurrency}",
            Key(ours, c.head, c.concurrency), Key(distribution, c.head, c.concurrency), "Distribution", c.concurrency == 32 ? 5 : null)).ToList();
    }

    private static string Key(OciClient client, bool head, int concurrency) => $"{client.Target.Name} {(head ? "HEAD" : "GET")} c{concurrency}";
}
