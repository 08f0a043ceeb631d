using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;
using Registry.Retention;
using Registry.Storage.Policies;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// A retention run over a repository of many tags (10,000 in full mode) against one over a hundredth of them (at least
/// 10), both with the policy "keep the 10 most recent": storage calls and time per 1,000 tags examined, which must not grow
/// with the repository. The runs are dry runs, so every round sees the same repositories; one real run over the large
/// repository at the end is counted for the notes. Two instances in this process on tables of their own: the pusher,
/// and the runner whose storage calls are counted.
/// </summary>
internal sealed class RetentionWorkload : IWorkload
{
    private const string Prefix = "retention";
    private const int TaggingConcurrency = 16;

    public string Name => "retention";

    public string Description => "a retention run over a repository of many tags against one over few: storage calls and ms per tag examined";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var storage = await context.StorageAsync(cancellationToken);
        var clock = new FrozenClock();
        var calls = new StorageCallCounter(Prefix);
        await using var pusher = await InProcessRegistry.StartAsync(storage, Prefix, policy: null, clock, cancellationToken);
        await using var runner = await InProcessRegistry.StartAsync(storage, Prefix, calls, clock, cancellationToken);
        var (many, few) = (context.Scale.Tags, Math.Max(10, context.Scale.Tags / 100));
        using var client = new OciClient(pusher.Target, TaggingConcurrency * 2);
        var repositories = new Dictionary<int, string> { [few] = "bench/retention-few", [many] = "bench/retention-many" };
        await client.PrepareAsync(repositories.Values, cancellationToken);
        var policies = runner.Services.GetRequiredService<RetentionPolicies>();
        foreach (var (tags, repository) in repositories)
        {
            var image = await ImagePusher.PushAsync(client, repository, "t00000", 41, [1024], cancellationToken);
            await Parallel.ForEachAsync(Enumerable.Range(1, tags - 1), new ParallelOptions { MaxDegreeOfParallelism = TaggingConcurrency, CancellationToken = cancellationToken },
                async (i, ct) => await client.PutManifestAsync(repository, $"t{i:D5}", image.Manifest, ct));
            await policies.SetAsync(new RetentionPolicy(repository, 10, "*", null, null, null), "bench", cancellationToken);
            context.Progress($"retention: {repository} has {tags} tags");
        }
        var retention = runner.Services.GetRequiredService<RetentionRunner>();
        var samples = new Samples();
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            foreach (var (tags, repository) in round % 2 == 0 ? repositories.ToList() : repositories.Reverse().ToList())
            {
                var (report, counted, elapsed) = await MeasureAsync(calls, () => retention.RunAsync(dryRun: true, repository, cancellationToken));
                if (report.TagsExamined != tags || report.Decisions.Count(d => d.Deleted) != tags - 10)
                {
                    throw new InvalidOperationException($"retention examined {report.TagsExamined} tags of {tags}: {report.Summary}");
                }
                samples.Add($"{tags} calls", 1000.0 * counted.Count / tags);
                samples.Add($"{tags} ms", 1000 * elapsed.TotalMilliseconds / tags);
            }
        }
        var (real, realCalls, realElapsed) = await MeasureAsync(calls, () => retention.RunAsync(dryRun: false, repositories[many], cancellationToken));
        context.Note($"retention: the real run over {many:N0} tags: {real.Summary}; {realCalls.Count} storage calls, {realElapsed.TotalSeconds:0.0} s "
            + $"[{StorageCallCounter.Breakdown(realCalls)}]");

        var workload = $"retention dry run (keep the 10 most recent) over {many:N0} tags";
        var baseline = $"over {few} tags";
        var (perTag, basePerTag) = (samples.Median($"{many} calls"), samples.Median($"{few} calls"));
        return
        [
            new(workload, "storage calls per 1,000 tags examined", perTag, baseline, basePerTag, Better.Lower, "≤ 1.1× storage calls", perTag <= 1.1 * basePerTag),
            new(workload, "ms per 1,000 tags examined", samples.Median($"{many} ms"), baseline, samples.Median($"{few} ms"), Better.Lower, "report"),
        ];
    }

    private static async Task<(RetentionReport Report, IReadOnlyList<string> Calls, TimeSpan Elapsed)> MeasureAsync(
        StorageCallCounter calls, Func<Task<RetentionReport>> run)
    {
        RetentionReport? report = null;
        var elapsed = TimeSpan.Zero;
        var counted = await calls.MeasureAsync(async () =>
        {
            var watch = Stopwatch.StartNew();
            report = await run();
            elapsed = watch.Elapsed;
        });
        return (report!, counted, elapsed);
    }
}
