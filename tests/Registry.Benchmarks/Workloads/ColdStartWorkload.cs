using Registry.Benchmarks.Baselines;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Cold start: from just before the process is started to the first HTTP answer of <c>GET /v2/</c> (any status),
/// polled every 2 ms. Ours as deployed (the published package's executable; full mode only, since the first publish
/// takes minutes), as <c>dotnet Registry.Host.dll</c> and as its apphost, Distribution beside them; storage already
/// prepared (tables and owner exist), as for every start after the first.
/// </summary>
internal sealed class ColdStartWorkload : IWorkload
{
    public string Name => "cold-start";

    public string Description => "process start to first /v2/ answer: published package, dotnet dll, apphost, Distribution";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var storage = await context.StorageAsync(cancellationToken);
        var published = !context.Scale.IsShort;
        if (published)
        {
            context.Progress("cold-start: dotnet publish src/Registry.Host, as azd runs it (minutes the first time)");
            await PublishedHost.PublishAsync(cancellationToken);
        }
        // The first start ever creates the tables and hashes the owner's password: not what is measured.
        await (await OurRegistryProcess.StartAsync(storage, Launch.Dotnet, storagePrefix: null, cancellationToken)).DisposeAsync();
        var samples = new Samples();
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            if (published)
            {
                await using var package = await OurRegistryProcess.StartAsync(storage, Launch.Published, storagePrefix: null, cancellationToken);
                samples.Add("published", package.Startup.TotalMilliseconds);
            }
            await using (var dll = await OurRegistryProcess.StartAsync(storage, Launch.Dotnet, storagePrefix: null, cancellationToken))
            {
                samples.Add("dll", dll.Startup.TotalMilliseconds);
                samples.Add("dll rss", ProcFs.RssBytes(dll.Target.ProcessId) / 1e6);
            }
            await using (var apphost = await OurRegistryProcess.StartAsync(storage, Launch.AppHost, storagePrefix: null, cancellationToken))
            {
                samples.Add("apphost", apphost.Startup.TotalMilliseconds);
            }
            await using (var distribution = await DistributionProcess.StartAsync(cancellationToken))
            {
                samples.Add("distribution", distribution.Startup.TotalMilliseconds);
                samples.Add("distribution rss", ProcFs.RssBytes(distribution.Target.ProcessId) / 1e6);
            }
        }
        const string workload = "cold start to first /v2/ answer";
        const string goal = "≤ 300 ms";
        var dllMs = samples.Median("dll");
        var distributionMs = samples.Median("distribution");
        var rows = new List<Row>();
        if (published)
        {
            var packageMs = samples.Median("published");
            rows.Add(new(workload, "ms, published package (as deployed)", packageMs, "Distribution", distributionMs, Better.Lower, goal, packageMs <= 300));
        }
        else
        {
            context.Note("cold-start: the published package (what runs in Azure) is measured in full mode only: its first publish takes minutes.");
        }
        // The goal is the deployed package's; a development build JIT-compiles what the package has precompiled.
        rows.Add(new(workload, "ms, dotnet Registry.Host.dll (development build)", dllMs, "Distribution", distributionMs, Better.Lower, "report"));
        rows.Add(new(workload, "ms, apphost Registry.Host", samples.Median("apphost"), "dotnet Registry.Host.dll", dllMs, Better.Lower, "report"));
        rows.Add(new(workload, "resident MB right after start", samples.Median("dll rss"), "Distribution", samples.Median("distribution rss"), Better.Lower, "report"));
        return rows;
    }
}
