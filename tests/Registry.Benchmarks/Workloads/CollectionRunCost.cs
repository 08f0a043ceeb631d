using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;
using Registry.Collection;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// What one collection run costs per deleted image, over a registry of 10 untouched images and over one of many
/// (1,000 in full mode), with the same images deleted: a run reads only what changed, so the figure must not grow
/// with the registry. Each registry is a <see cref="CollectedRegistry"/> of its own. The untouched images (a config
/// each and a layer they all share) are spread over 10 repositories in both, so the registries differ only in how
/// many images those hold. Each round pushes the deleted images into a new repository (a config and a layer each,
/// and the shared layer), lets a run a day later settle their uploads' reviews, deletes them, and counts the run one
/// grace period later, which deletes their blob links; the run after it, which deletes their content, is counted once
/// at the end for the notes. Which registry goes first alternates by round. The storage-call counts are deterministic.
/// </summary>
internal static class CollectionRunCost
{
    private const int FewUntouched = 10;
    private const int KeptRepositories = 10;
    private const int PushesInFlight = 8;
    private const ulong SharedLayerSeed = 6_000_000;

    public static async Task<IReadOnlyList<Row>> MeasureAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var storage = await context.StorageAsync(cancellationToken);
        var (many, deleted) = (context.Scale.UntouchedImages, context.Scale.DeletedImages);
        await using var few = await CollectedRegistry.StartAsync(storage, $"gccost{FewUntouched}", cancellationToken);
        await using var large = await CollectedRegistry.StartAsync(storage, $"gccost{many}", cancellationToken);
        (CollectedRegistry Registry, int Untouched)[] registries = [(few, FewUntouched), (large, many)];
        foreach (var (registry, untouched) in registries)
        {
            await PushUntouchedAsync(registry, untouched, cancellationToken);
            context.Progress($"gc: {untouched} untouched images pushed");
        }
        var samples = new Samples();
        var lastRuns = new Dictionary<int, CountedRun>();
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            foreach (var (registry, untouched) in round % 2 == 0 ? registries : Enumerable.Reverse(registries))
            {
                var run = await DeleteAndCollectAsync(registry, $"bench/gc-deleted-r{round}", deleted, round, cancellationToken);
                samples.Add($"{untouched} calls", (double)run.Calls.Count / deleted);
                samples.Add($"{untouched} ms", run.Elapsed.TotalMilliseconds / deleted);
                lastRuns[untouched] = run;
            }
        }
        var contentRuns = new List<string>();
        foreach (var (registry, untouched) in registries)
        {
            var run = await registry.CollectAsync(registry.Options.Grace + GarbageCollectionWorkload.PastGrace, cancellationToken);
            contentRuns.Add($"{run.Calls.Count} calls over {untouched:N0} untouched images ({run.Report.Summary})");
            context.Note($"gc: the run after {deleted} deletes over {untouched:N0} untouched images: {lastRuns[untouched].Calls.Count} calls "
                + $"({lastRuns[untouched].Report.Summary}) [{StorageCallCounter.Breakdown(lastRuns[untouched].Calls)}]");
        }
        context.Note($"gc: the run one grace period later, which deletes the content those deletes left: {string.Join("; ", contentRuns)}");

        var workload = $"gc run after {deleted} image deletes, over {many:N0} untouched images";
        var baseline = $"over {FewUntouched} untouched images";
        var (calls, baseCalls) = (samples.Median($"{many} calls"), samples.Median($"{FewUntouched} calls"));
        return
        [
            new(workload, "storage calls per deleted image", calls, baseline, baseCalls, Better.Lower, "≤ 1.1× storage calls", calls <= 1.1 * baseCalls),
            new(workload, "ms per deleted image", samples.Median($"{many} ms"), baseline, samples.Median($"{FewUntouched} ms"), Better.Lower, "report"),
        ];
    }

    /// <summary>Images no collection has anything to do with, once a run settled their uploads' reviews.</summary>
    private static async Task PushUntouchedAsync(CollectedRegistry registry, int images, CancellationToken cancellationToken)
    {
        var repositories = Enumerable.Range(0, KeptRepositories).Select(k => $"bench/gc-kept-{k}").ToList();
        var shared = new GeneratedLayer(SharedLayerSeed, 1024);
        using var client = registry.Client(PushesInFlight * 2);
        await client.PrepareAsync(repositories, cancellationToken);
        await Task.WhenAll(repositories.Select(repository => client.PushChunkedAsync(repository, shared, cancellationToken)));
        await Parallel.ForEachAsync(Enumerable.Range(0, images), new ParallelOptions { MaxDegreeOfParallelism = PushesInFlight, CancellationToken = cancellationToken },
            async (i, ct) => await ImagePusher.PushAsync(client, repositories[i % KeptRepositories], $"v{i}", 7_000_000 + (ulong)i, [], ct,
                present: [new BlobRef(shared.Digest, shared.Length)]));
    }

    /// <summary>Pushes <paramref name="images"/> images, settles them, deletes them, and counts the run that takes up the deletes.</summary>
    private static async Task<CountedRun> DeleteAndCollectAsync(
        CollectedRegistry registry, string repository, int images, int round, CancellationToken cancellationToken)
    {
        var shared = new GeneratedLayer(SharedLayerSeed, 1024);
        var pushed = new List<PushedImage>();
        using (var client = registry.Client(4))
        {
            await client.PushChunkedAsync(repository, shared, cancellationToken);
            for (var i = 0; i < images; i++)
            {
                pushed.Add(await ImagePusher.PushAsync(client, repository, $"v{i}", 8_000_000 + (ulong)(round * 1000 + i), [1024], cancellationToken,
                    present: [new BlobRef(shared.Digest, shared.Length)]));
            }
        }
        // A day on, every upload's review is taken up (all are used), the settled markers go, and the content of the
        // images the last round deleted with them.
        var settle = await registry.CollectAsync(registry.Options.UnusedBlobGrace + GarbageCollectionWorkload.PastGrace, cancellationToken);
        if (settle.Report.Count(CollectedKind.Link) + settle.Report.Count(CollectedKind.Manifest) > 0)
        {
            throw new InvalidOperationException($"gc: the run that settles the uploads deleted links or manifests: {settle.Report.Summary}");
        }
        using (var client = registry.Client(4))
        {
            foreach (var image in pushed)
            {
                await client.DeleteManifestAsync(repository, image.ManifestDigest, cancellationToken);
            }
        }
        var run = await registry.CollectAsync(registry.Options.Grace + GarbageCollectionWorkload.PastGrace, cancellationToken);
        // Each image's config and own layer, and once the shared layer's link in the repository; no content yet.
        var links = 2 * images + 1;
        if (run.Report.ReviewsExamined != images || run.Report.Count(CollectedKind.Link) != links || run.Report.Items.Count != links)
        {
            throw new InvalidOperationException($"gc: after {images} deletes the run should delete {links} blob links and nothing else: {run.Report.Summary}");
        }
        return run;
    }
}
