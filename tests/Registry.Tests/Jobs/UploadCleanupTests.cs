using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Registry.Diagnostics;
using Registry.Http;
using Registry.Jobs;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Blobs;
using Registry.Storage.Quotas;
using Registry.Storage.References;
using Registry.Storage.Reviews;
using Registry.Storage.Uploads;
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
        var (clients, clock, _, uploads, job) = await IsolatedAsync();

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
        Assert.NotNull(await uploads.FindAsync(Name("team/a"), BlobUploads.IdOf(young), CancellationToken.None));
        var remaining = clients.RepositoriesTable.QueryAsync<Azure.Data.Tables.TableEntity>(select: ["RowKey"]);
        Assert.Equal([young.RowKey], await remaining.Select(e => e.RowKey).ToListAsync());
    }

    [Fact]
    public async Task Sweep_DeletesABlobCommittedButNeverRecorded_AndKeepsOneTheContentIndexNames()
    {
        var (clients, clock, content, uploads, job) = await IsolatedAsync();
        var repository = Name("team/crashed");
        var orphan = await CommittedSessionAsync(uploads, content, repository, "bytes of a request that died after its commit"u8.ToArray());
        var recorded = await CommittedSessionAsync(uploads, content, repository, "bytes of a request that died after recording"u8.ToArray());
        await content.RecordAsync(recorded.Digest, recorded.Session.BlobName, recorded.Size, repository, BlobCommit.Created, CancellationToken.None);

        clock.Now += BlobUploads.SessionLifetime + TimeSpan.FromHours(1);
        Assert.Equal("2 expired upload sessions removed, 0 open", (await job.RunAsync(CancellationToken.None)).Summary);

        Assert.False(await clients.Container.GetBlobClient(orphan.Session.BlobName).ExistsAsync());
        Assert.True(await clients.Container.GetBlobClient(recorded.Session.BlobName).ExistsAsync());
    }

    /// <summary>A session whose bytes were staged and committed, as a completion leaves it when it dies before recording them.</summary>
    private static async Task<(UploadEntity Session, Digest Digest, long Size)> CommittedSessionAsync(
        BlobUploads uploads, ContentIndex content, RepositoryName repository, byte[] bytes)
    {
        var session = await uploads.StartAsync(repository, CancellationToken.None);
        var appended = await uploads.AppendAsync(session, new MemoryStream(bytes), bytes.Length, CancellationToken.None);
        Assert.True(appended.Succeeded);
        var digest = Digest.Compute(bytes, Digest.Sha256);
        Assert.Equal(BlobCommit.Created, await content.CommitBlocksAsync(session.BlobName, BlockList.BlockIds(appended.Value.Segments), digest, CancellationToken.None));
        return (appended.Value, digest, bytes.Length);
    }

    /// <summary>Tables and a container of this test's own, so the sweep can never touch another test's sessions.</summary>
    private async Task<(StorageClients Clients, ManualClock Clock, ContentIndex Content, BlobUploads Uploads, UploadCleanupJob Job)> IsolatedAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var clients = new StorageClients(Options.Create(new StorageOptions
        {
            ConnectionString = registry.Storage.ConnectionString,
            RepositoriesTable = "sweeprepos" + suffix,
            BlobsTable = "sweepblobs" + suffix,
            BlobContainer = "sweep" + suffix,
        }), []);
        await clients.CreateIfMissingAsync(CancellationToken.None);
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new RegistryMetrics(meters.GetRequiredService<IMeterFactory>());
        var reviews = new GarbageReviews(clients, clock);
        var content = new ContentIndex(clients, reviews, clock);
        var quotas = new QuotaAdmission(clients, new StorageQuotas(clients, clock), Options.Create(new QuotaOptions()), clock);
        var links = new BlobLinks(clients, content, new ManifestUses(clients, clock), reviews, new ReadCache(Options.Create(new ReadCacheOptions()), clock), quotas);
        var uploads = new BlobUploads(clients, content, links, metrics, clock,
            new StagingBuffers(Options.Create(new UploadOptions()), clock, NullLogger<StagingBuffers>.Instance), quotas);
        return (clients, clock, content, uploads, new UploadCleanupJob(uploads, metrics));
    }
}
