using System.Diagnostics;
using Registry.Benchmarks.Baselines;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// The catalog of many repositories (1,000 in full mode), all pages following Link. Both registries are fresh
/// instances with nothing else in them (ours on tables and a container of their own), so the count is exact.
/// Creating the repositories is timed too, as a bonus row: a repository's first push.
/// </summary>
internal sealed class CatalogWorkload : IWorkload
{
    private const int CreatingConcurrency = 16;

    public string Name => "catalog";

    public string Description => "catalog of many repositories, all pages following Link";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var repositories = context.Scale.Repositories;
        var page = context.Scale.CatalogPage;
        await using var oursProcess = await OurRegistryProcess.StartAsync(await context.StorageAsync(cancellationToken), Launch.Dotnet, "catalogbench", cancellationToken);
        await using var distributionProcess = await DistributionProcess.StartAsync(cancellationToken);
        using var clients = new ClientPair(new OciClient(oursProcess.Target, CreatingConcurrency), new OciClient(distributionProcess.Target, CreatingConcurrency));
        var samples = new Samples();
        foreach (var client in clients.Both)
        {
            var names = Enumerable.Range(0, repositories).Select(i => $"bench/c{i:D4}").ToList();
            await client.PrepareAsync(names, cancellationToken);
            var watch = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, repositories), new ParallelOptions { MaxDegreeOfParallelism = CreatingConcurrency, CancellationToken = cancellationToken },
                async (i, ct) => await ImagePusher.PushAsync(client, names[i], "v1", 5_000_000 + (ulong)i, [1024], ct));
            samples.Add(client.Target.Name + " create", repositories / watch.Elapsed.TotalSeconds);
            context.Progress($"catalog: {client.Target.Name} has {repositories} repositories");
        }
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            foreach (var client in clients.Both)
            {
                var watch = Stopwatch.StartNew();
                var (items, _) = await client.ListAllAsync($"/v2/_catalog?n={page}", "repositories", repositories / page + 10, cancellationToken);
                samples.Add(client.Target.Name + " list", watch.Elapsed.TotalMilliseconds);
                if (items != repositories)
                {
                    throw new InvalidOperationException($"{client.Target.Name} listed {items} repositories, not {repositories}");
                }
            }
        }
        return
        [
            new($"first push into {repositories} new repositories, c={CreatingConcurrency}", "repositories/s", samples.Median("ours create"),
                "Distribution", samples.Median("Distribution create"), Better.Higher, "report"),
            new($"catalog of {repositories} repositories, all pages n={page}", "ms", samples.Median("ours list"),
                "Distribution", samples.Median("Distribution list"), Better.Lower, "report"),
        ];
    }
}
