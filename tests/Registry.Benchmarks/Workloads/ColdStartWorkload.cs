using Registry.Benchmarks.Baselines;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Cold start: from just before the process is started to the first HTTP answer of <c>GET /v2/</c> (any status),
/// polled every 2 ms. Ours as <c>dotnet Registry.Host.dll</c> and as its apphost, Distribution beside them; storage
/// already prepared (tables and owner exist), as for every start after the first.
/// </summary>
internal sealed class ColdStartWorkload : IWorkload
{
    public string Name => "cold-start";

    public string Description => "process start to first /v2/ answer: dotnet dll, apphost, Distribution";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var storage = await context.StorageAsync(cancellationToken);
        // The first start ever creates the tables and hashes the owner's password: not what is measured.
        await (await OurRegistryProcess.StartAsync(storage, appHost: false, storagePrefix: null, cancellationToken)).DisposeAsync();
        var samples = new Samples();
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            await using (var dll = await OurRegistryProcess.StartAsync(storage, appHost: false, storagePrefix: null, cancellationToken))
            {
                samples.Add("dll", dll.Startup.TotalMilliseconds);
                samples.Add("dll rss", ProcFs.RssBytes(dll.Target.ProcessId) / 1e6);
            }
            await using (var apphost = await OurRegistryProcess.StartAsync(storage, appHost: true, storagePrefix: null, cancellationToken))
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
        var dllMs = samples.Median("dll");
        return
        [
            new(workload, "ms, dotnet Registry.Host.dll", dllMs, "Distribution", samples.Median("distribution"), Better.Lower, "≤ 300 ms", dllMs <= 300),
            new(workload, "ms, apphost Registry.Host", samples.Median("apphost"), "dotnet Registry.Host.dll", dllMs, Better.Lower, "report"),
            new(workload, "resident MB right after start", samples.Median("dll rss"), "Distribution", samples.Median("distribution rss"), Better.Lower, "report"),
        ];
    }
}
