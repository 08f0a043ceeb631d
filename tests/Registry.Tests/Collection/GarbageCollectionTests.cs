using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Registry.Collection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// What garbage collection reclaims and what it keeps, on storage of its own (<see cref="CollectedStorage"/>): a
/// deleted image's layers go after the grace period unless another manifest or repository uses them; index entries
/// and referrers go with what reached them; uploads that no manifest used go after a day; a dry run lists exactly
/// what the run then deletes.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class GarbageCollectionTests(RegistryFixture registry) : IAsyncLifetime
{
    private CollectedStorage _gc = null!;

    public async Task InitializeAsync() => _gc = await CollectedStorage.StartAsync(registry.Storage);

    public async Task DisposeAsync() => await _gc.DisposeAsync();

    [Fact]
    public async Task DeletedImage_ItsOwnLayersGoAfterTheGrace_ALayerAnotherRepositoryUsesStaysAndPulls()
    {
        var (repo, other) = (RegistryFixture.NewRepository(), RegistryFixture.NewRepository());
        var shared = OciTestClient.RandomBytes(3000);
        var own = OciTestClient.RandomBytes(2000);
        var (manifest, config) = await PushImageAsync(repo, "v1", own, shared);
        var (kept, _) = await PushImageAsync(other, "v1", shared);
        var ownBlob = await _gc.BlobNameOfAsync(OciTestClient.DigestOf(own));
        var sharedBlob = await _gc.BlobNameOfAsync(OciTestClient.DigestOf(shared));

        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(manifest)}")).StatusCode);
        var early = await _gc.CollectAsync(TimeSpan.FromMinutes(59));
        Assert.Empty(early.Items);

        var reports = await _gc.CollectFullyAsync();
        var deleted = reports.SelectMany(r => r.Items).ToList();
        Assert.Equal(3, deleted.Count(i => i.Kind == CollectedKind.Link && i.Repository == repo));
        Assert.Contains(deleted, i => i.Kind == CollectedKind.Content && i.Digest.Value == OciTestClient.DigestOf(own));
        Assert.Contains(deleted, i => i.Kind == CollectedKind.Content && i.Digest.Value == OciTestClient.DigestOf(config));
        Assert.DoesNotContain(deleted, i => i.Kind == CollectedKind.Content && i.Digest.Value == OciTestClient.DigestOf(shared));
        Assert.False(await _gc.BlobExistsAsync(ownBlob!));
        Assert.True(await _gc.BlobExistsAsync(sharedBlob!));
        Assert.False(await _gc.RowExistsAsync(repo, "blob:" + OciTestClient.DigestOf(own)));

        Assert.Equal(kept, await _gc.Client.GetByteArrayAsync($"/v2/{other}/manifests/v1"));
        Assert.Equal(shared, await _gc.Following.GetByteArrayAsync($"/v2/{other}/blobs/{OciTestClient.DigestOf(shared)}"));
    }

    [Fact]
    public async Task UntaggedButKeptManifest_KeepsItsLayers_OnlyTheDeletedManifestsOwnGo()
    {
        var repo = RegistryFixture.NewRepository();
        var layer = OciTestClient.RandomBytes(1000);
        var (first, _) = await PushImageAsync(repo, "v1", layer);
        var (second, _) = await PushImageAsync(repo, "v2", layer);
        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/v2")).StatusCode); // untagged, not deleted
        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(first)}")).StatusCode);

        var deleted = (await _gc.CollectFullyAsync()).SelectMany(r => r.Items).ToList();
        Assert.DoesNotContain(deleted, i => i.Digest.Value == OciTestClient.DigestOf(layer));
        Assert.Equal(second, await _gc.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(second)}"));
        Assert.Equal(layer, await _gc.Following.GetByteArrayAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}"));
    }

    [Fact]
    public async Task AbandonedUpload_IsReclaimedAfterTheUnusedBlobGrace_NotBefore()
    {
        var repo = RegistryFixture.NewRepository();
        var bytes = OciTestClient.RandomBytes(1500);
        var digest = await _gc.Oci.PushBlobAsync(repo, bytes);
        var blob = await _gc.BlobNameOfAsync(digest);

        Assert.Empty((await _gc.CollectAsync(TimeSpan.FromHours(23))).Items);
        Assert.Equal(HttpStatusCode.OK, (await HeadAsync($"/v2/{repo}/blobs/{digest}")).StatusCode);

        var link = await _gc.CollectAsync(TimeSpan.FromHours(2));
        Assert.Contains(link.Items, i => i.Kind == CollectedKind.Link && i.Digest.Value == digest && i.Reason.Contains("no manifest", StringComparison.Ordinal));
        var content = await _gc.CollectAsync(TimeSpan.FromMinutes(61));
        Assert.Contains(content.Items, i => i.Kind == CollectedKind.Content && i.Digest.Value == digest && i.Size == bytes.Length);
        Assert.False(await _gc.BlobExistsAsync(blob!));
    }

    [Fact]
    public async Task DeletedIndex_ItsEntriesNothingElseListsGo_AnEntryAnotherIndexListsStays()
    {
        var repo = RegistryFixture.NewRepository();
        var (amd64, _) = await PushImageAsync(repo, "amd64", OciTestClient.RandomBytes(500));
        var (arm64, _) = await PushImageAsync(repo, "arm64", OciTestClient.RandomBytes(500));
        var (s390x, _) = await PushImageAsync(repo, "s390x", OciTestClient.RandomBytes(500));
        foreach (var tag in new[] { "amd64", "arm64", "s390x" })
        {
            Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{tag}")).StatusCode);
        }
        var index = Index(amd64, arm64);
        var other = Index(arm64, s390x);
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, "multi", index, OciTestClient.OciIndex)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, "other", other, OciTestClient.OciIndex)).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(index)}")).StatusCode);
        var deleted = (await _gc.CollectAsync(TimeSpan.FromMinutes(61))).Items;

        Assert.Contains(deleted, i => i.Kind == CollectedKind.Manifest && i.Digest.Value == OciTestClient.DigestOf(amd64));
        Assert.DoesNotContain(deleted, i => i.Digest.Value == OciTestClient.DigestOf(arm64));
        Assert.False(await _gc.RowExistsAsync(repo, "manifest:" + OciTestClient.DigestOf(amd64)));
        Assert.Equal(arm64, await _gc.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(arm64)}"));
        Assert.Equal(other, await _gc.Client.GetByteArrayAsync($"/v2/{repo}/manifests/other"));
        // The collected entry's own layers follow one grace period later.
        var later = (await _gc.CollectAsync(TimeSpan.FromMinutes(61))).Items;
        Assert.Contains(later, i => i.Kind == CollectedKind.Link);
    }

    [Fact]
    public async Task DeletedSubject_ItsReferrersGo_ATaggedReferrerKeepsAnEntryItSigns()
    {
        var repo = RegistryFixture.NewRepository();
        var (subject, _) = await PushImageAsync(repo, "app", OciTestClient.RandomBytes(800));
        var signature = await PushReferrerAsync(repo, subject, "sig-of-app", tag: null);
        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(subject)}")).StatusCode);

        var (entry, _) = await PushImageAsync(repo, "entry", OciTestClient.RandomBytes(800));
        await PushReferrerAsync(repo, entry, "sbom-of-entry", tag: "sbom");
        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/entry")).StatusCode);
        var index = Index(entry);
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, "idx", index, OciTestClient.OciIndex)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(index)}")).StatusCode);

        var deleted = (await _gc.CollectAsync(TimeSpan.FromMinutes(61))).Items;
        Assert.Contains(deleted, i => i.Kind == CollectedKind.Manifest && i.Digest.Value == OciTestClient.DigestOf(signature));
        Assert.DoesNotContain(deleted, i => i.Digest.Value == OciTestClient.DigestOf(entry));
        Assert.Equal(entry, await _gc.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(entry)}"));
    }

    [Fact]
    public async Task DryRun_ListsExactlyWhatTheRunThenDeletes_AndDeletesNothing()
    {
        var repo = RegistryFixture.NewRepository();
        var (manifest, _) = await PushImageAsync(repo, "v1", OciTestClient.RandomBytes(700), OciTestClient.RandomBytes(900));
        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(manifest)}")).StatusCode);

        var dry = await _gc.CollectAsync(TimeSpan.FromMinutes(61), dryRun: true);
        Assert.True(dry.DryRun);
        Assert.Equal(3, dry.Items.Count);
        Assert.StartsWith("would delete 3 blob links", dry.Summary, StringComparison.Ordinal);
        var real = await _gc.CollectAsync(TimeSpan.Zero);
        Assert.Equal(Describe(dry), Describe(real));
    }

    [Fact]
    public async Task EveryDeletion_IsInTheAuditLog_WithItsReason()
    {
        var repo = RegistryFixture.NewRepository();
        var digest = await _gc.Oci.PushBlobAsync(repo, OciTestClient.RandomBytes(600));
        var report = await _gc.CollectAsync(TimeSpan.FromHours(25));
        Assert.Single(report.Items);

        var log = _gc.Collector.Services.GetService(typeof(Registry.Storage.Audit.AuditLog)) as Registry.Storage.Audit.AuditLog;
        var entries = new List<Registry.Storage.Audit.AuditEntry>();
        await foreach (var entry in log!.QueryAsync(_gc.Clock.Now.AddMinutes(-1), _gc.Clock.Now.AddMinutes(1), repo, GarbageCollector.Actor, CancellationToken.None))
        {
            entries.Add(entry);
        }
        var audited = Assert.Single(entries);
        Assert.Equal("gc-delete-link", audited.Action);
        Assert.Equal(digest, audited.Reference);
        Assert.Contains("no manifest", audited.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletedRepository_LeavesNoRowOnceCollected_AndItsOwnContentGoes()
    {
        var repo = RegistryFixture.NewRepository();
        var own = OciTestClient.RandomBytes(1800);
        var (amd64, _) = await PushImageAsync(repo, "amd64", own);
        var (arm64, _) = await PushImageAsync(repo, "arm64", OciTestClient.RandomBytes(1700));
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, "multi", Index(amd64, arm64), OciTestClient.OciIndex)).StatusCode);
        await _gc.Oci.PushBlobAsync(repo, OciTestClient.RandomBytes(900));
        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null)).StatusCode);
        var ownBlob = await _gc.BlobNameOfAsync(OciTestClient.DigestOf(own));
        Assert.True(Registry.Oci.RepositoryName.TryParse(repo, out var name));

        var removal = _gc.Collector.Services.GetService(typeof(RepositoryRemoval)) as RepositoryRemoval;
        var dry = await removal!.RemoveAsync(name, dryRun: true, new Registry.Storage.Events.ChangeOrigin("test"), CancellationToken.None);
        Assert.Equal((3, 5, 1), (dry.Manifests, dry.Blobs, dry.Uploads));
        var report = await removal.RemoveAsync(name, dryRun: false, new Registry.Storage.Events.ChangeOrigin("test"), CancellationToken.None);
        Assert.Equal((3, 5, 1), (report.Manifests, report.Blobs, report.Uploads));
        Assert.Empty(report.Kept);
        Assert.DoesNotContain(repo, await _gc.Client.GetStringAsync("/v2/_catalog"), StringComparison.Ordinal);
        Assert.All(await RowsOfAsync(repo), row => Assert.StartsWith("review:", row, StringComparison.Ordinal));

        await _gc.CollectFullyAsync();
        Assert.False(await _gc.BlobExistsAsync(ownBlob!));
        // The uploads' own reviews come due after a day; taken up, they leave the partition empty.
        await _gc.CollectAsync(TimeSpan.FromHours(25));
        Assert.Empty(await RowsOfAsync(repo));
    }

    private async Task<List<string>> RowsOfAsync(string repo)
    {
        Assert.True(Registry.Oci.RepositoryName.TryParse(repo, out var name));
        var rows = new List<string>();
        await foreach (var row in _gc.Storage.RepositoriesTable.QueryAsync<Azure.Data.Tables.TableEntity>(
            $"PartitionKey eq '{Registry.Storage.TableKeys.Repository(name)}'", select: ["RowKey"]))
        {
            rows.Add(row.RowKey);
        }
        return rows;
    }

    [Theory]
    [InlineData("--GarbageCollection:Grace=00:00:05", "GarbageCollection:Grace")]
    [InlineData("--GarbageCollection:UnusedBlobGrace=00:30:00", "GarbageCollection:UnusedBlobGrace")]
    public async Task AGraceTooShortForSafety_StopsTheStart_NamingTheSetting(string setting, string named)
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => ExtraRegistry.StartAsync(registry.Storage, [setting, "--Jobs:InProcess=false"]));
        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }

    private static IEnumerable<string> Describe(CollectionReport report) =>
        report.Items.Select(i => $"{i.Kind} {i.Repository} {i.Digest}").Order(StringComparer.Ordinal);

    private Task<HttpResponseMessage> HeadAsync(string path) => _gc.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

    /// <summary>Pushes a config and <paramref name="layers"/> and a manifest tagged <paramref name="tag"/>; returns manifest and config.</summary>
    private async Task<(byte[] Manifest, byte[] Config)> PushImageAsync(string repo, string tag, params byte[][] layers)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"{Guid.NewGuid()}\"}}");
        await _gc.Oci.PushBlobAsync(repo, config);
        foreach (var layer in layers)
        {
            await _gc.Oci.PushBlobAsync(repo, layer);
        }
        var manifest = OciTestClient.ImageManifest(config, layers);
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, tag, manifest)).StatusCode);
        return (manifest, config);
    }

    private async Task<byte[]> PushReferrerAsync(string repo, byte[] subject, string payload, string? tag)
    {
        var empty = "{}"u8.ToArray();
        await _gc.Oci.PushBlobAsync(repo, empty);
        var layer = Encoding.UTF8.GetBytes(payload);
        await _gc.Oci.PushBlobAsync(repo, layer);
        var referrer = OciTestClient.ImageManifest(empty, [layer], OciTestClient.DigestOf(subject), subject.Length,
            "application/vnd.example.sig", "application/vnd.oci.empty.v1+json");
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, tag ?? OciTestClient.DigestOf(referrer), referrer)).StatusCode);
        return referrer;
    }

    private static byte[] Index(params byte[][] children) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = OciTestClient.OciIndex,
        ["manifests"] = new JsonArray(children.Select(c => (JsonNode)OciTestClient.Descriptor(OciTestClient.OciManifest, c)).ToArray()),
    }.ToJsonString());
}
