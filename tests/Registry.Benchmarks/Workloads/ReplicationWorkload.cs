using System.Diagnostics;
using Azure.Data.Tables;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;
using Registry.Oci;
using Registry.Storage;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Geo-replication on loopback: a primary and a replica, two instances in this process on containers and tables of
/// their own (one Azurite account: Azurite copies blobs from a URL only within one instance), the primary's events
/// delivered to the replica's <c>/_replication/events</c>. One image at a time is pushed to the primary; the lag runs from
/// the manifest PUT's 201 to the replica's tag row pointing at it, read straight from the replica's table (not through
/// the replica, whose calls are counted). Small images (three layers of 1–64 KiB) and one large layer (256 MiB in full
/// mode); the baseline of each lag is the push itself, and of the replica's storage calls per image (its reads of the
/// primary included, counted from the push's start until the replica settled) the primary's calls for the push.
/// </summary>
internal sealed class ReplicationWorkload : IWorkload
{
    private const string PrimaryPrefix = "replprimary";
    private const string ReplicaPrefix = "replreplica";
    private const string Secret = "bench-replication-secret";
    private static readonly TimeSpan ReplicationDeadline = TimeSpan.FromMinutes(5);

    public string Name => "replication";

    public string Description => "replication lag from a push's 201 to the image in the replica (small image, one large layer); replica storage calls per image";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var storage = await context.StorageAsync(cancellationToken);
        var primaryCalls = new StorageCallCounter(PrimaryPrefix);
        var replicaCalls = new StorageCallCounter(ReplicaPrefix);
        await using var replica = await InProcessRegistry.StartAsync(storage, ReplicaPrefix, replicaCalls, TimeProvider.System, cancellationToken,
        [
            $"--Replication:Primary:ConnectionString={storage.ConnectionString}",
            $"--Replication:Primary:BlobContainer={PrimaryPrefix}",
            $"--Replication:Primary:RepositoriesTable={PrimaryPrefix}repositories",
            $"--Replication:Primary:BlobsTable={PrimaryPrefix}blobs",
            $"--Replication:EventSecret={Secret}",
        ]);
        await using var primary = await InProcessRegistry.StartAsync(storage, PrimaryPrefix, primaryCalls, TimeProvider.System, cancellationToken,
        [
            $"--Events:Webhooks:0:Url={new Uri(replica.Target.BaseAddress, "/_replication/events")}",
            $"--Events:Webhooks:0:Secret={Secret}",
            "--Events:AllowPrivateTargets=true",
            "--Events:SendTimeout=00:05:00",
        ]);
        var replicaTags = new TableClient(storage.ConnectionString, ReplicaPrefix + "repositories");
        using var client = new OciClient(primary.Target, 8);
        var large = context.Scale.IsShort ? 8L << 20 : 256L << 20;
        var repositories = new[] { "bench/repl-small", "bench/repl-large", "bench/repl-warm" };
        await client.PrepareAsync(repositories, cancellationToken);
        await ReplicateAsync(client, replicaTags, "bench/repl-warm", "warm", 1, [1024], cancellationToken);

        var samples = new Dictionary<string, List<double>>(StringComparer.Ordinal) { ["small lag"] = [], ["small push"] = [], ["large lag"] = [], ["large push"] = [] };
        var callSamples = new Samples();
        var images = Math.Max(5, context.Scale.SmallImages / 4);
        for (var i = 0; i < images; i++)
        {
            var seed = (ulong)(100 + i);
            var (replicationCalls, (pushCalls, push, lag)) = await CountAsync(replicaCalls, async () =>
            {
                var (calls, pushed) = await CountAsync(primaryCalls, () => PushAsync(client, "bench/repl-small", $"s{i}", seed, [1024, 16 * 1024, 64 * 1024], cancellationToken));
                return (calls, pushed, await WaitForAsync(replicaTags, "bench/repl-small", $"s{i}", pushed.Image.ManifestDigest, pushed.Answered, cancellationToken));
            });
            samples["small push"].Add(push.Elapsed.TotalMilliseconds);
            samples["small lag"].Add(lag.TotalMilliseconds);
            callSamples.Add("push", pushCalls);
            callSamples.Add("replica", replicationCalls);
        }
        context.Progress($"replication: {images} small images replicated");
        for (var i = 0; i < Math.Max(1, context.Scale.Rounds); i++)
        {
            var seed = (ulong)(900 + i);
            var (calls, (push, lag)) = await CountAsync(replicaCalls, async () =>
            {
                var pushed = await PushAsync(client, "bench/repl-large", $"l{i}", seed, [(int)large], cancellationToken);
                return (pushed, await WaitForAsync(replicaTags, "bench/repl-large", $"l{i}", pushed.Image.ManifestDigest, pushed.Answered, cancellationToken));
            });
            samples["large push"].Add(push.Elapsed.TotalMilliseconds);
            samples["large lag"].Add(lag.TotalMilliseconds);
            context.Note($"replication: a {BenchmarkScale.Size(large)} layer replicated {lag.TotalMilliseconds:0} ms after its push's 201 (the push took "
                + $"{push.Elapsed.TotalMilliseconds:0} ms), {calls} replica storage calls");
        }

        var small = "replication of a small image (3 layers, 1–64 KiB)";
        var largeName = $"replication of one {BenchmarkScale.Size(large)} layer";
        return
        [
            new(small, "lag after the push's 201, p50 ms", Stats.Percentile(samples["small lag"], 0.5), "the push itself, p50 ms", Stats.Percentile(samples["small push"], 0.5), Better.Lower, "report"),
            new(small, "lag after the push's 201, p99 ms", Stats.Percentile(samples["small lag"], 0.99), "the push itself, p99 ms", Stats.Percentile(samples["small push"], 0.99), Better.Lower, "report"),
            new(small, "replica storage calls per image", callSamples.Median("replica"), "the push's calls at the primary", callSamples.Median("push"), Better.Lower, "report"),
            new(largeName, "lag after the push's 201, p50 ms", Stats.Percentile(samples["large lag"], 0.5), "the push itself, ms", Stats.Percentile(samples["large push"], 0.5), Better.Lower, "report"),
        ];
    }

    private sealed record Push(PushedImage Image, TimeSpan Elapsed, long Answered);

    private static async Task<Push> PushAsync(OciClient client, string repository, string tag, ulong seed, IReadOnlyList<int> layers, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var image = await ImagePusher.PushAsync(client, repository, tag, seed, layers, cancellationToken);
        var answered = Stopwatch.GetTimestamp();
        return new Push(image, Stopwatch.GetElapsedTime(started, answered), answered);
    }

    private static async Task ReplicateAsync(OciClient client, TableClient replicaTags, string repository, string tag, ulong seed, IReadOnlyList<int> layers, CancellationToken cancellationToken)
    {
        var push = await PushAsync(client, repository, tag, seed, layers, cancellationToken);
        await WaitForAsync(replicaTags, repository, tag, push.Image.ManifestDigest, push.Answered, cancellationToken);
    }

    /// <summary>Polls the replica's tag row (bounded) until it points at <paramref name="digest"/>; the time since <paramref name="answered"/>.</summary>
    private static async Task<TimeSpan> WaitForAsync(TableClient replicaTags, string repository, string tag, string digest, long answered, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(RepositoryName.TryParse(repository, out var name) ? name : throw new ArgumentException(repository));
        var row = TableKeys.TagPrefix + tag;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var found = await replicaTags.GetEntityIfExistsAsync<TableEntity>(partition, row, ["Digest"], cancellationToken);
            if (found.HasValue && found.Value!.GetString("Digest") == digest)
            {
                return Stopwatch.GetElapsedTime(answered);
            }
            if (deadline.Elapsed > ReplicationDeadline)
            {
                throw new InvalidOperationException($"{repository}:{tag} was not replicated within {ReplicationDeadline}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken);
        }
    }

    private static async Task<(int Calls, T Result)> CountAsync<T>(StorageCallCounter counter, Func<Task<T>> operation)
    {
        T result = default!;
        var calls = await counter.MeasureAsync(async () => result = await operation());
        return (calls.Count, result);
    }
}
