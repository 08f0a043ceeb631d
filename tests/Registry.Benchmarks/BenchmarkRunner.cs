using Registry.Benchmarks.Report;
using Registry.Benchmarks.Workloads;

namespace Registry.Benchmarks;

/// <summary>Runs the selected workloads one after another and collects their rows.</summary>
internal static class BenchmarkRunner
{
    /// <summary>Every workload, in the order a full run takes them: quick ones first, the GiB-sized ones last.</summary>
    public static IReadOnlyList<IWorkload> Workloads { get; } =
    [
        new HashingWorkload(),
        new StorageCallsWorkload(),
        new ColdStartWorkload(),
        new ManifestReadWorkload(),
        new BlobHeadWorkload(),
        new SmallImagesWorkload(),
        new TagListWorkload(),
        new CatalogWorkload(),
        new GarbageCollectionWorkload(),
        new RetentionWorkload(),
        new EventsWorkload(),
        new ReplicationWorkload(),
        new LargePushWorkload(),
        new LargePullWorkload(),
        new MemoryWorkload(),
        new StalledUploadsWorkload(),
        new CostWorkload(),
    ];

    public static async Task<int> MainAsync(string[] args, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
    {
        var options = BenchmarkOptions.Parse(args, Workloads.Select(w => w.Name).ToList(), out var problems);
        if (options is null)
        {
            foreach (var problem in problems)
            {
                await progress.WriteLineAsync(problem);
            }
            await progress.WriteLineAsync(BenchmarkOptions.Usage);
            return 2;
        }
        if (options.List)
        {
            foreach (var workload in Workloads)
            {
                await output.WriteLineAsync($"{workload.Name,-14} {workload.Description}");
            }
            return 0;
        }
        var report = await RunAsync(options, progress, cancellationToken);
        ReportTable.Write(output, report, Header(options));
        return 0;
    }

    public static async Task<BenchmarkReport> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var selected = options.Only.Count == 0 ? Workloads : Workloads.Where(w => options.Only.Contains(w.Name)).ToList();
        var rows = new List<Row>();
        await using var context = new BenchmarkContext(options.Scale, progress);
        foreach (var workload in selected)
        {
            context.Progress($"{workload.Name}: {workload.Description}");
            rows.AddRange((await workload.RunAsync(context, cancellationToken)).Select(row => row with { Source = workload.Name }));
        }
        return new BenchmarkReport(rows, [.. context.Notes], context.Elapsed);
    }

    private static string Header(BenchmarkOptions options) =>
        $"{(options.Scale.IsShort ? "short" : "full")} mode, {options.Scale.Rounds} round(s) per figure (medians, ours and baselines interleaved), "
        + $"{Environment.ProcessorCount} cores, loopback only";
}
