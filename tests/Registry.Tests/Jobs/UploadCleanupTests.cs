using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Jobs;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Blobs;
using Registry.Storage.Uploads;
using Registry.Telemetry;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Jobs;

/// <summary>
/// The upload-cleanup sweep against tables of its own (so it can never touch another test's sessions), with a clock
/// the test moves: sessions past their lifetime go, younger ones stay and are counted.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class UploadCleanupTests(RegistryFixture registry)
{

    private static RepositoryName Name(string text)
    {
        Assert.True(RepositoryName.TryParse(text, out var name));
        return name;
    }

    [Fact]
    public async Task Sweep_RemovesSessionsPastTheirLifetime_AndCountsTheRest()
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var clients = new StorageClients(Options.Create(new StorageOptions
        {
            ConnectionString = registry.Storage.ConnectionString,
            RepositoriesTable = "sweeprepos" + suffix,
            BlobsTable = "sweepblobs" + suffix,
        }), []);
        await clients.CreateIfMissingAsync(CancellationToken.None);
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        using var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new RegistryMetrics(meters.GetRequiredService<IMeterFactory>());
        var content = new ContentIndex(clients, clock);
        var uploads = new BlobUploads(clients, content, new BlobLinks(clients, content, new ReadCache(Options.Create(new ReadCacheOptions()), clock)), metrics, clock);
        var job = new UploadCleanupJob(uploads, metrics);

        var old = new[] { Name("team/a"), Name("team/b") };
        foreach (var repository in old)
        {
            await uploads.StartAsync(repository, CancellationToken.None);
        }
        clock.Now += BlobUploads.SessionLifetime - TimeSpan.FromHours(1);
        var young = await uploads.StartAsync(Name("team/a"), CancellationToken.None);

        var first = await job.RunAsync(CancellationToken.None);
        Assert.Equal("0 expired upload sessions removed, 3 open", first.Summary);

        clock.Now += TimeSpan.FromHours(2);
        var second = await job.RunAsync(CancellationToken.None);
        Assert.Equal(JobReport.Completed, second.Status);
        Assert.Equal("2 expired upload sessions removed, 1 open", second.Summary);
        Assert.NotNull(await uploads.FindAsync(Name("team/a"), young.RowKey[TableKeys.UploadPrefix.Length..], CancellationToken.None));
        var remaining = clients.Repositories.QueryAsync<Azure.Data.Tables.TableEntity>(select: ["RowKey"]);
        Assert.Equal([young.RowKey], await remaining.Select(e => e.RowKey).ToListAsync());
    }
}
