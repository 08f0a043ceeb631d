using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Collection;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Blobs;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// Tables and a container of their own (so a collection run never touches another test's data), served by two
/// instances on one clock that the test moves past grace periods: <see cref="Pusher"/>, which clients push to and pull
/// from, and <see cref="Collector"/>, whose <see cref="GarbageCollector"/> the test runs. The collector reads that clock
/// through <see cref="CollectorClock"/>, which a test may set apart from the pusher's (a skewed worker). A gate on the
/// collector's storage calls holds it at the worst moment of a race.
/// </summary>
public sealed class CollectedStorage : IAsyncDisposable
{
    private CollectedStorage(ExtraRegistry pusher, ExtraRegistry collector, ManualClock clock, SkewedClock collectorClock, StorageGate gate, CallCounter calls)
    {
        Pusher = pusher;
        Collector = collector;
        Clock = clock;
        CollectorClock = collectorClock;
        Gate = gate;
        CollectorCalls = calls;
        Client = new HttpClient(new BearerTokenHandler(pusher.BaseAddress, RegistryFixture.AdminName, RegistryFixture.AdminPassword, followRedirects: false, clock))
        {
            BaseAddress = pusher.BaseAddress,
        };
        Following = new HttpClient(new BearerTokenHandler(pusher.BaseAddress, RegistryFixture.AdminName, RegistryFixture.AdminPassword, followRedirects: true, clock))
        {
            BaseAddress = pusher.BaseAddress,
        };
        Oci = new OciTestClient(Client);
    }

    public ExtraRegistry Pusher { get; }

    public ExtraRegistry Collector { get; }

    public ManualClock Clock { get; }

    /// <summary>The collector's clock: <see cref="Clock"/> plus a skew the test sets (zero unless it does).</summary>
    public SkewedClock CollectorClock { get; }

    public StorageGate Gate { get; }

    public CallCounter CollectorCalls { get; }

    public HttpClient Client { get; }

    /// <summary>Follows the pull redirect to Blob storage, as docker does.</summary>
    public HttpClient Following { get; }

    public OciTestClient Oci { get; }

    public StorageClients Storage => Collector.Services.GetRequiredService<StorageClients>();

    public static Task<CollectedStorage> StartAsync(Azurite storage, params string[] extraSettings) =>
        StartAsync(storage, configureCollector: null, extraSettings);

    /// <param name="configureCollector">More services of the collector's instance (a log capture, say).</param>
    public static async Task<CollectedStorage> StartAsync(Azurite storage, Action<WebApplicationBuilder>? configureCollector, params string[] extraSettings)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        string[] settings =
        [
            $"--Storage:RepositoriesTable=gcrepos{suffix}", $"--Storage:BlobsTable=gcblobs{suffix}", $"--Storage:BlobContainer=gc{suffix}",
            // Deletes are collected a grace period after them unless a test turns soft delete on (its window puts them off).
            "--Jobs:InProcess=false", "--Lifecycle:SoftDeleteWindow=00:00:00", .. extraSettings,
        ];
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var collectorClock = new SkewedClock(clock);
        var gate = new StorageGate();
        var calls = new CallCounter();
        var pusher = await ExtraRegistry.StartAsync(storage, settings, builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(clock);
            // Storage checks a pull's SAS URL against its own, real clock.
            builder.Services.AddSingleton(services => new SasUrlIssuer(
                services.GetRequiredService<StorageClients>(), services.GetRequiredService<IOptions<StorageOptions>>(), TimeProvider.System));
        });
        var collector = await ExtraRegistry.StartAsync(storage, settings, builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(collectorClock);
            builder.Services.AddSingleton<HttpPipelinePolicy>(gate);
            builder.Services.AddSingleton<HttpPipelinePolicy>(calls);
            configureCollector?.Invoke(builder);
        });
        return new CollectedStorage(pusher, collector, clock, collectorClock, gate, calls);
    }

    /// <summary>Moves the collector's clock by <paramref name="after"/>, then runs one collection.</summary>
    public Task<CollectionReport> CollectAsync(TimeSpan after, bool dryRun = false)
    {
        Clock.Advance(after);
        return Collector.Services.GetRequiredService<GarbageCollector>().RunAsync(dryRun, CancellationToken.None);
    }

    /// <summary>Past the grace period, twice: links first, then the content they released.</summary>
    public async Task<CollectionReport[]> CollectFullyAsync() =>
        [await CollectAsync(TimeSpan.FromMinutes(61)), await CollectAsync(TimeSpan.FromMinutes(61))];

    /// <summary>The blob that holds <paramref name="digest"/>'s bytes now, or null when its content row is gone.</summary>
    public async Task<string?> BlobNameOfAsync(string digest)
    {
        Assert.Equal(DigestParse.Valid, Digest.TryParse(digest, out var parsed));
        var row = await Storage.BlobsTable.GetEntityIfExistsAsync<ContentEntity>(TableKeys.Content(parsed), TableKeys.ContentRow);
        return row.HasValue ? row.Value!.BlobName : null;
    }

    /// <summary>Whether storage holds the row (a link or a manifest) now; the pusher's read cache may still answer for 30 s.</summary>
    public async Task<bool> RowExistsAsync(string repository, string rowKey)
    {
        Assert.True(RepositoryName.TryParse(repository, out var name));
        return (await Storage.RepositoriesTable.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>(TableKeys.Repository(name), rowKey)).HasValue;
    }

    public async Task<bool> BlobExistsAsync(string blobName) => await Storage.Container.GetBlobClient(blobName).ExistsAsync();

    public async ValueTask DisposeAsync()
    {
        Gate.Release();
        Client.Dispose();
        Following.Dispose();
        await Collector.DisposeAsync();
        await Pusher.DisposeAsync();
    }
}
