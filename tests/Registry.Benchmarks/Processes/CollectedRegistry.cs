using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Workloads;
using Registry.Collection;

namespace Registry.Benchmarks.Processes;

/// <summary>What one counted collection run did, the storage calls it made and how long it took.</summary>
internal sealed record CountedRun(CollectionReport Report, IReadOnlyList<string> Calls, TimeSpan Elapsed);

/// <summary>
/// Two instances in this process on tables and a container of their own and on one frozen clock that the workload
/// moves past grace periods, as the collection tests set them up: the pusher, which clients push to and delete from,
/// and the collector, whose runs are counted. The collector's read cache knows nothing of the pushes, as on another
/// instance, and no request's storage call is counted with a run.
/// </summary>
internal sealed class CollectedRegistry : IAsyncDisposable
{
    private readonly InProcessRegistry _pusher;
    private readonly InProcessRegistry _collector;
    private readonly StorageCallCounter _calls;

    private CollectedRegistry(InProcessRegistry pusher, InProcessRegistry collector, FrozenClock clock, StorageCallCounter calls)
    {
        _pusher = pusher;
        _collector = collector;
        _calls = calls;
        Clock = clock;
    }

    public FrozenClock Clock { get; }

    /// <summary>The collector's settings: how far the clock must move for a review to be due.</summary>
    public CollectionOptions Options => _collector.Services.GetRequiredService<IOptions<CollectionOptions>>().Value;

    public static async Task<CollectedRegistry> StartAsync(Azurite storage, string storagePrefix, CancellationToken cancellationToken)
    {
        var clock = new FrozenClock();
        var calls = new StorageCallCounter(storagePrefix);
        // Deletes are collected a grace period after them, as before soft delete: its window would put every delete off a week.
        string[] settings = ["--Lifecycle:SoftDeleteWindow=00:00:00"];
        var pusher = await InProcessRegistry.StartAsync(storage, storagePrefix, policy: null, clock, cancellationToken, settings);
        try
        {
            return new CollectedRegistry(pusher, await InProcessRegistry.StartAsync(storage, storagePrefix, calls, clock, cancellationToken, settings), clock, calls);
        }
        catch
        {
            await pusher.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A client of the pusher whose tokens are bought on the clock as it is now: a move past a grace period expires
    /// those of an older client.
    /// </summary>
    public OciClient Client(int connections) => new(_pusher.Target, connections);

    /// <summary>Moves the clock by <paramref name="after"/>, then runs one collection and counts its storage calls.</summary>
    public async Task<CountedRun> CollectAsync(TimeSpan after, CancellationToken cancellationToken)
    {
        Clock.Advance(after);
        var collector = _collector.Services.GetRequiredService<GarbageCollector>();
        CollectionReport? report = null;
        var elapsed = TimeSpan.Zero;
        var calls = await _calls.MeasureAsync(async () =>
        {
            var watch = Stopwatch.StartNew();
            report = await collector.RunAsync(dryRun: false, cancellationToken);
            elapsed = watch.Elapsed;
        });
        return new CountedRun(report!, calls, elapsed);
    }

    public async ValueTask DisposeAsync()
    {
        await _collector.DisposeAsync();
        await _pusher.DisposeAsync();
    }
}
