using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;
using Registry.Collection;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Pushes and pulls while a collector runs back to back, against the same load with no collector, interleaved round
/// by round (which goes first alternates). The load: small images, four in flight, over ten repositories (five in
/// short mode) that each hold a base image; each image has the base's layer (checked with a HEAD, as docker does),
/// two layers of 1–64 KiB and a config, and is pulled back at once (manifest by tag, then every blob, following the
/// redirect); every other one is then deleted. It runs on our registry process, on tables of its own.
///
/// <para>The collector is an instance in this process on the same tables, on an <see cref="AheadClock"/> that moves
/// on by a grace period (and a minute) before each run: every run finds due each delete recorded before it and the
/// content the run before released, so while pushes and pulls go on it deletes the blob links of the images deleted
/// since, then their content rows and bytes, and keeps the base layers they share with the images that stay. A day
/// would pass in 24 runs, so the collector's <c>GarbageCollection:UnusedBlobGrace</c> is set out of reach: an
/// upload's review, which production takes up a day later (no push waits that long for its manifest), is never due
/// here, so no push in flight can lose a blob. A measurement starts with what the one before left: the last run
/// after it releases the content of its deletes, which the next measurement's first run deletes.</para>
///
/// <para>A pull of an image that got a 201 and was not deleted fails if any step does. Each is pulled right after its
/// push and, once the load ends and a last run took up what was left, again through the collector's instance, whose
/// read cache never saw it, so that pull reads what storage holds.</para>
/// </summary>
internal static class CollectionUnderLoad
{
    private const string Prefix = "gcload";
    private const int ImagesInFlight = 4;
    private const int Repositories = 10;

    public static async Task<IReadOnlyList<Row>> MeasureAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var storage = await context.StorageAsync(cancellationToken);
        // Deletes are collected a grace period after them, as before soft delete: its window would put every delete off a week.
        await using var serving = await OurRegistryProcess.StartAsync(storage, Launch.Dotnet, Prefix, cancellationToken,
            new Dictionary<string, string> { ["Lifecycle__SoftDeleteWindow"] = "00:00:00" });
        var clock = new AheadClock();
        var calls = new StorageCallCounter(Prefix);
        await using var collector = await InProcessRegistry.StartAsync(storage, Prefix, calls, clock, cancellationToken,
            [$"--{CollectionOptions.Section}:{nameof(CollectionOptions.UnusedBlobGrace)}=3650.00:00:00"]);
        var step = collector.Services.GetRequiredService<IOptions<CollectionOptions>>().Value.Grace + GarbageCollectionWorkload.PastGrace;
        var gc = collector.Services.GetRequiredService<GarbageCollector>();
        using var pushing = new OciClient(serving.Target, ImagesInFlight * 4);
        var images = context.Scale.SmallImages;
        var repositories = Enumerable.Range(0, Math.Min(Repositories, images / 2)).Select(k => $"bench/gc-load-{k}").ToList();
        await pushing.PrepareAsync(repositories, cancellationToken);
        var bases = (await Task.WhenAll(repositories.Select((repository, k) =>
            ImagePusher.PushAsync(pushing, repository, "base", 9_000 + (ulong)k, [32 * 1024], cancellationToken)))).Select(image => image.Layers[0]).ToList();
        var load = new Load(pushing, collector.Target, ct =>
        {
            clock.MoveOn(step);
            return gc.RunAsync(dryRun: false, ct);
        }, calls, repositories, bases);

        // Unmeasured: the JIT, connections and tokens of both sides and of the collector (not in short mode, whose
        // figures are not held).
        var warm = context.Scale.IsShort ? null : await RunAsync(load, ImagesInFlight, 1, collect: true, cancellationToken);
        var samples = new Samples();
        var failed = new Dictionary<bool, int> { [true] = warm?.Failures.Count ?? 0, [false] = 0 };
        var pulls = warm?.Pulls ?? 0;
        var failures = new List<string>(warm?.Failures ?? []);
        var looped = new List<LoopedRuns>();
        var loadSeconds = 0.0;
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            foreach (var collect in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                var result = await RunAsync(load, images, (ulong)(2 + 2 * round + (collect ? 1 : 0)), collect, cancellationToken);
                samples.Add(collect ? "with" : "without", images / result.Elapsed.TotalSeconds);
                failed[collect] += result.Failures.Count;
                pulls += result.Pulls;
                failures.AddRange(result.Failures);
                if (result.Loop is { } loopRuns)
                {
                    looped.Add(loopRuns);
                    loadSeconds += result.Elapsed.TotalSeconds;
                }
            }
            context.Progress($"gc: load round {round + 1} done");
        }

        var (runs, reviews, collectorCalls) = (looped.Sum(l => l.Runs), looped.Sum(l => l.ReviewsExamined), looped.Sum(l => l.StorageCalls));
        var (links, content) = (looped.Sum(l => l.LinksDeleted), looped.Sum(l => l.ContentDeleted));
        context.Note($"gc: while the load ran, the collector made {runs} run(s) ({loadSeconds * 1000 / runs:F0} ms each), took up {reviews} reviews "
            + $"and deleted {links} blob links and {content} blobs, with {collectorCalls / loadSeconds:F0} storage calls/s");
        context.Note($"gc: {pulls} pulls checked, {failures.Count} failed" + (failures.Count > 0 ? $"; the first: {failures[0]}" : ""));
        var workload = $"push and pull {images} small images, every other one then deleted, {ImagesInFlight} in flight";
        var (with, without) = (samples.Median("with"), samples.Median("without"));
        return
        [
            new(workload, "images/s with a collector looping", with, "no collector", without, Better.Higher, "≥ 0.9× no collector", with >= 0.9 * without),
            new(workload, "failed pulls of images that got a 201", failed[true], "no collector", failed[false], Better.Lower, "0", failed[true] + failed[false] == 0)
            {
                ZeroIsValid = true,
            },
        ];
    }

    /// <summary>One measurement: the load, timed, with the collector looping or not; then a last run and the pulls that check.</summary>
    private static async Task<LoadResult> RunAsync(Load load, int images, ulong series, bool collect, CancellationToken cancellationToken)
    {
        var failures = new ConcurrentQueue<string>();
        var kept = new ConcurrentQueue<(string Repository, string Tag, PushedImage Image)>();
        LoopedRuns? runs = null;
        TimeSpan elapsed;
        await using (var loop = collect ? CollectorLoop.Start(load.Collect, load.CollectorCalls, cancellationToken) : null)
        {
            var watch = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, images), new ParallelOptions { MaxDegreeOfParallelism = ImagesInFlight, CancellationToken = cancellationToken },
                async (i, ct) =>
                {
                    var k = i % load.Repositories.Count;
                    var (repository, tag, seed) = (load.Repositories[k], $"s{series}-{i}", series * 1_000_000 + (ulong)i);
                    var sizes = new Random((int)seed);
                    var image = await ImagePusher.PushAsync(load.Client, repository, tag, seed,
                        [sizes.Next(1024, 64 * 1024 + 1), sizes.Next(1024, 64 * 1024 + 1)], ct, present: [load.Bases[k]]);
                    if (await PullFailureAsync(load.Client, repository, tag, image, ct) is { } failure)
                    {
                        failures.Enqueue(failure);
                    }
                    if (i % 2 == 1)
                    {
                        await load.Client.DeleteManifestAsync(repository, image.ManifestDigest, ct);
                    }
                    else
                    {
                        kept.Enqueue((repository, tag, image));
                    }
                });
            elapsed = watch.Elapsed;
            if (loop is not null)
            {
                runs = await loop.StopAsync();
            }
        }
        // Whatever the loop left, or without one all of it, taken up before the pulls that check; the collector's clock
        // moved on, so its instance needs tokens bought now.
        await load.Collect(cancellationToken);
        using var verifier = new OciClient(load.CollectorInstance, ImagesInFlight * 4);
        await Parallel.ForEachAsync(kept, new ParallelOptions { MaxDegreeOfParallelism = ImagesInFlight, CancellationToken = cancellationToken },
            async (image, ct) =>
            {
                if (await PullFailureAsync(verifier, image.Repository, image.Tag, image.Image, ct) is { } failure)
                {
                    failures.Enqueue("after the last run: " + failure);
                }
            });
        return new LoadResult(elapsed, images + kept.Count, [.. failures], runs);
    }

    /// <summary>Pulls the image as docker does; null when every step answered as it should, else what went wrong.</summary>
    private static async Task<string?> PullFailureAsync(OciClient client, string repository, string tag, PushedImage image, CancellationToken cancellationToken)
    {
        try
        {
            var length = await client.GetManifestAsync(repository, tag, head: false, cancellationToken);
            if (length != image.Manifest.Length)
            {
                return $"{repository}:{tag}: a manifest of {length} bytes, {image.Manifest.Length} pushed";
            }
            foreach (var blob in image.Layers.Prepend(image.Config))
            {
                var pulled = await client.PullAsync(repository, blob.Digest, cancellationToken);
                var received = pulled.RedirectedTo is null ? pulled.TotalBytes : pulled.TotalBytes - pulled.RegistryBodyBytes;
                if (received != blob.Size)
                {
                    return $"{repository}:{tag}: {blob.Digest} pulled {received} bytes of {blob.Size}";
                }
            }
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
        {
            return $"{repository}:{tag}: {e.Message}";
        }
    }

    /// <summary>
    /// What every measurement uses: the client of our registry, the collector's instance (pulls through it read what
    /// storage holds), one collection run with its clock moved on, the collector's call counter, the repositories and
    /// their base layers.
    /// </summary>
    private sealed record Load(
        OciClient Client, RegistryTarget CollectorInstance, Func<CancellationToken, Task<CollectionReport>> Collect, StorageCallCounter CollectorCalls,
        IReadOnlyList<string> Repositories, IReadOnlyList<BlobRef> Bases);

    private sealed record LoadResult(TimeSpan Elapsed, int Pulls, IReadOnlyList<string> Failures, LoopedRuns? Loop);
}
