using System.Net;
using System.Text;
using Registry.Collection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// Garbage collection racing pushes, mounts and another collector, each played in a fixed order: the collector's
/// storage call is held at the worst moment (<see cref="StorageGate"/>) while the other side runs to its answer. Nothing
/// that got a 2xx is ever lost, and a collector killed half way leaves nothing a pull can see and is finished by the
/// next run.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class CollectionRaceTests(RegistryFixture registry) : IAsyncLifetime
{
    private CollectedStorage _gc = null!;

    public async Task InitializeAsync() => _gc = await CollectedStorage.StartAsync(registry.Storage);

    public async Task DisposeAsync() => await _gc.DisposeAsync();

    [Theory]
    [InlineData("monolithic")]
    [InlineData("chunked")]
    public async Task ContentBeingCollected_WhileTheSameDigestIsPushedAgain_Stays_AndThePushPulls(string style)
    {
        var bytes = OciTestClient.RandomBytes(4000);
        var digest = await AbandonedBlobWithItsLinkCollectedAsync(bytes);

        _gc.Gate.HoldBefore(request => StorageGate.IsEntityDelete(request, "content"));
        var run = _gc.CollectAsync(TimeSpan.FromMinutes(61));
        await _gc.Gate.Reached;
        var again = RegistryFixture.NewRepository();
        await PushAsync(again, bytes, style);
        _gc.Gate.Release();
        Assert.DoesNotContain((await run).Items, i => i.Kind == CollectedKind.Content);

        Assert.Equal(bytes, await _gc.Following.GetByteArrayAsync($"/v2/{again}/blobs/{digest}"));
        Assert.DoesNotContain((await _gc.CollectAsync(TimeSpan.FromMinutes(61))).Items, i => i.Kind == CollectedKind.Content);
        Assert.Equal(bytes, await _gc.Following.GetByteArrayAsync($"/v2/{again}/blobs/{digest}"));
    }

    [Fact]
    public async Task LinkBeingCollected_WhileItIsMountedElsewhere_TheMountStaysWhole()
    {
        var repo = RegistryFixture.NewRepository();
        var bytes = OciTestClient.RandomBytes(3000);
        var digest = await _gc.Oci.PushBlobAsync(repo, bytes);

        _gc.Gate.HoldBefore(request => StorageGate.IsEntityDelete(request, "blob:"));
        var run = _gc.CollectAsync(TimeSpan.FromHours(25));
        await _gc.Gate.Reached;
        var target = RegistryFixture.NewRepository();
        var mount = await _gc.Client.PostAsync($"/v2/{target}/blobs/uploads/?mount={digest}&from={repo}", null);
        Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        _gc.Gate.Release();
        Assert.Contains((await run).Items, i => i.Kind == CollectedKind.Link && i.Repository == repo);
        var config = Encoding.UTF8.GetBytes("{\"mounted\":true}");
        await _gc.Oci.PushBlobAsync(target, config);
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(target, "v1", OciTestClient.ImageManifest(config, [bytes]))).StatusCode);

        // The source's reference went with its link; the mount's keeps the content past every later run.
        Assert.DoesNotContain((await _gc.CollectAsync(TimeSpan.FromMinutes(61))).Items, i => i.Kind == CollectedKind.Content);
        Assert.Equal(bytes, await _gc.Following.GetByteArrayAsync($"/v2/{target}/blobs/{digest}"));
    }

    [Fact]
    public async Task LinkBeingCollected_WhileAManifestUsingItIsPushed_Stays_AndTheImagePulls()
    {
        var repo = RegistryFixture.NewRepository();
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"late\":true}");
        var layer = OciTestClient.RandomBytes(2500);
        await _gc.Oci.PushBlobAsync(repo, config);
        var layerDigest = await _gc.Oci.PushBlobAsync(repo, layer);

        _gc.Gate.HoldBefore(request => StorageGate.IsEntityDelete(request, "blob:"));
        var run = _gc.CollectAsync(TimeSpan.FromHours(25));
        await _gc.Gate.Reached;
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, "late", OciTestClient.ImageManifest(config, [layer]))).StatusCode);
        _gc.Gate.Release();
        var report = await run;

        // The held delete found its link touched by the push; the other (config) link was touched before the run read it.
        Assert.DoesNotContain(report.Items, i => i.Kind == CollectedKind.Link);
        Assert.Equal(layer, await _gc.Following.GetByteArrayAsync($"/v2/{repo}/blobs/{layerDigest}"));
        Assert.Empty((await _gc.CollectAsync(TimeSpan.FromHours(25))).Items);
        Assert.Equal(layer, await _gc.Following.GetByteArrayAsync($"/v2/{repo}/blobs/{layerDigest}"));
    }

    [Fact]
    public async Task RePush_RightAfterTheCollectorRemovedTheContent_Is201_AndPulls()
    {
        var bytes = OciTestClient.RandomBytes(3500);
        var digest = await AbandonedBlobWithItsLinkCollectedAsync(bytes);
        Assert.Contains((await _gc.CollectAsync(TimeSpan.FromMinutes(61))).Items, i => i.Kind == CollectedKind.Content && i.Digest.Value == digest);

        var repo = RegistryFixture.NewRepository();
        await _gc.Oci.PushBlobAsync(repo, bytes);
        Assert.Equal(bytes, await _gc.Following.GetByteArrayAsync($"/v2/{repo}/blobs/{digest}"));
    }

    [Fact]
    public async Task TwoCollectorsAtOnce_DeleteEachThingOnce_WithoutAnError()
    {
        var repo = RegistryFixture.NewRepository();
        var digests = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            digests.Add(await _gc.Oci.PushBlobAsync(repo, OciTestClient.RandomBytes(1000 + i)));
        }

        _gc.Gate.HoldBefore(request => StorageGate.IsEntityDelete(request, "blob:"));
        var first = _gc.CollectAsync(TimeSpan.FromHours(25));
        await _gc.Gate.Reached;
        var second = await _gc.CollectAsync(TimeSpan.Zero);
        _gc.Gate.Release();
        var firstReport = await first;

        var all = firstReport.Items.Concat(second.Items).Where(i => i.Kind == CollectedKind.Link).Select(i => i.Digest.Value).ToList();
        Assert.Equal(digests.Order(StringComparer.Ordinal), all.Order(StringComparer.Ordinal));
        var content = await _gc.CollectAsync(TimeSpan.FromMinutes(61));
        Assert.Equal(digests.Order(StringComparer.Ordinal),
            content.Items.Where(i => i.Kind == CollectedKind.Content).Select(i => i.Digest.Value).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task CollectorKilledAfterDeletingALink_LeavesNothingAPullSees_AndTheNextRunFinishes()
    {
        var repo = RegistryFixture.NewRepository();
        var bytes = OciTestClient.RandomBytes(2200);
        var digest = await _gc.Oci.PushBlobAsync(repo, bytes);
        var blob = await _gc.BlobNameOfAsync(digest);

        // Dies at the transaction that releases the content reference, right after the link went.
        _gc.Gate.FailWhile(request => StorageGate.IsBatchOn(request, "gcblobs"));
        await Assert.ThrowsAnyAsync<Exception>(() => _gc.CollectAsync(TimeSpan.FromHours(25)));
        _gc.Gate.StopFailing();
        Assert.False(await _gc.RowExistsAsync(repo, "blob:" + digest));
        Assert.True(await _gc.BlobExistsAsync(blob!));

        await _gc.CollectAsync(TimeSpan.Zero);
        Assert.Contains((await _gc.CollectAsync(TimeSpan.FromMinutes(61))).Items, i => i.Kind == CollectedKind.Content && i.Digest.Value == digest);
        Assert.False(await _gc.BlobExistsAsync(blob!));
    }

    /// <summary>A blob pushed to a repository of its own and never used: after a run past a day its link is gone and its content reviewed.</summary>
    private async Task<string> AbandonedBlobWithItsLinkCollectedAsync(byte[] bytes)
    {
        var digest = await _gc.Oci.PushBlobAsync(RegistryFixture.NewRepository(), bytes);
        Assert.Contains((await _gc.CollectAsync(TimeSpan.FromHours(25))).Items, i => i.Kind == CollectedKind.Link && i.Digest.Value == digest);
        return digest;
    }

    private async Task PushAsync(string repo, byte[] bytes, string style)
    {
        if (style == "monolithic")
        {
            await _gc.Oci.PushBlobAsync(repo, bytes);
            return;
        }
        var start = await _gc.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var patch = await _gc.Client.PatchAsync(start.Headers.Location, OciTestClient.Octets(bytes));
        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        var put = await _gc.Client.PutAsync(OciTestClient.WithDigest(patch.Headers.Location!, OciTestClient.DigestOf(bytes)), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }
}
