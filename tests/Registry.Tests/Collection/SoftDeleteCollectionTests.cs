using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Registry.Collection;
using Registry.Oci;
using Registry.Storage.Events;
using Registry.Storage.Manifests;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// Soft delete and garbage collection (<see cref="CollectedStorage"/> with a 7-day window): a deleted image's blobs and
/// bytes stay through the window, whatever runs collect meanwhile, and it is restored whole; after the window and the
/// grace they are collected. A restore racing the run that ends the window is played in both orders (the collector held
/// by <see cref="StorageGate"/>): it either wins, and the image pulls whole, or fails, and nothing comes back.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class SoftDeleteCollectionTests(RegistryFixture registry) : IAsyncLifetime
{
    private static readonly TimeSpan Window = TimeSpan.FromDays(7);
    private static readonly ChangeOrigin Origin = new("test");
    private CollectedStorage _gc = null!;

    public async Task InitializeAsync() => _gc = await CollectedStorage.StartAsync(registry.Storage, "--Lifecycle:SoftDeleteWindow=7.00:00:00");

    public async Task DisposeAsync() => await _gc.DisposeAsync();

    private SoftDeletes Restorer => _gc.Pusher.Services.GetRequiredService<SoftDeletes>();

    [Fact]
    public async Task DeletedImage_KeepsItsBlobsThroughTheWindow_AndIsRestoredWholeWithItsTag()
    {
        var (repo, image) = await DeletedImageAsync();

        // Past the grace, and past the day after which unused uploads go: nothing of it is collected.
        Assert.DoesNotContain((await _gc.CollectAsync(TimeSpan.FromMinutes(61))).Items, i => i.Repository == repo);
        Assert.DoesNotContain((await _gc.CollectAsync(TimeSpan.FromDays(2))).Items, i => i.Repository == repo);
        Assert.DoesNotContain((await _gc.CollectAsync(TimeSpan.FromDays(2))).Items, i => i.Kind == CollectedKind.Content && image.Blobs.Contains(i.Digest.Value));

        var restored = await Restorer.RestoreManifestAsync(Name(repo), Digest(image.Digest), force: false, Origin, CancellationToken.None);
        Assert.True(restored.Succeeded, restored.Error?.Detail);
        Assert.Equal(["v1"], restored.Value.Select(t => t.Value));
        await AssertPullsAsync(repo, "v1", image);
        // Back in use: later runs keep it.
        Assert.DoesNotContain((await _gc.CollectAsync(Window)).Items, i => i.Repository == repo);
        Assert.DoesNotContain((await _gc.CollectAsync(TimeSpan.FromDays(2))).Items, i => i.Kind == CollectedKind.Content && image.Blobs.Contains(i.Digest.Value));
        await AssertPullsAsync(repo, "v1", image);
    }

    [Fact]
    public async Task DeletedImage_NotRestored_IsCollectedOnceTheWindowAndTheGraceEnded_ThenCannotBeRestored()
    {
        var (repo, image) = await DeletedImageAsync();
        var blobNames = await Task.WhenAll(image.Blobs.Select(_gc.BlobNameOfAsync));

        Assert.DoesNotContain((await _gc.CollectAsync(Window - TimeSpan.FromMinutes(1))).Items, i => i.Repository == repo);
        // The dry run at the window's end lists what the real run then deletes.
        var dry = await _gc.CollectAsync(TimeSpan.FromMinutes(62), dryRun: true);
        var links = await _gc.CollectAsync(TimeSpan.Zero);
        Assert.Equal(dry.Items.Where(i => i.Repository == repo).Select(i => (i.Kind, i.Digest)), links.Items.Where(i => i.Repository == repo).Select(i => (i.Kind, i.Digest)));
        Assert.Equal(image.Blobs.Order(), links.Items.Where(i => i.Kind == CollectedKind.Link && i.Repository == repo).Select(i => i.Digest.Value).Order());
        var content = await _gc.CollectAsync(TimeSpan.FromMinutes(61));
        Assert.Equal(image.Blobs.Order(), content.Items.Where(i => i.Kind == CollectedKind.Content).Select(i => i.Digest.Value).Intersect(image.Blobs).Order());
        foreach (var name in blobNames)
        {
            Assert.False(await _gc.BlobExistsAsync(name!));
        }

        var refused = await Restorer.RestoreManifestAsync(Name(repo), Digest(image.Digest), force: false, Origin, CancellationToken.None);
        Assert.Equal(Failure.ManifestUnknown, refused.Error?.Failure);
        Assert.False(await _gc.RowExistsAsync(repo, "manifest:" + image.Digest));
    }

    [Fact]
    public async Task RestoreAtTheWindowsEnd_CommittingBeforeTheCollectorEndsIt_Wins_AndTheImagePullsWhole()
    {
        var (repo, image) = await DeletedImageAsync();
        _gc.Clock.Advance(Window - TimeSpan.FromMinutes(1)); // the restore's instance: still inside the window
        _gc.CollectorClock.Skew = TimeSpan.FromHours(2);     // the collector's: past the window and the grace

        _gc.Gate.HoldBefore(request => StorageGate.IsEntityDelete(request, "deleted:"));
        var run = _gc.CollectAsync(TimeSpan.Zero);
        await _gc.Gate.Reached;
        var restored = await Restorer.RestoreManifestAsync(Name(repo), Digest(image.Digest), force: false, Origin, CancellationToken.None);
        _gc.Gate.Release();
        var report = await run;

        Assert.True(restored.Succeeded, restored.Error?.Detail);
        Assert.DoesNotContain(report.Items, i => i.Repository == repo);
        Assert.DoesNotContain((await _gc.CollectAsync(TimeSpan.FromMinutes(61))).Items, i => image.Blobs.Contains(i.Digest.Value));
        await AssertPullsAsync(repo, "v1", image);
    }

    [Fact]
    public async Task RestoreAtTheWindowsEnd_HeldBeforeItsTransaction_WhileTheCollectorEndsIt_IsRefused_AndGivesNothingBack()
    {
        var (repo, image) = await DeletedImageAsync();
        // Here the restore runs on the gated instance, inside the window by its clock; the collector on the other, past
        // the window and the grace.
        _gc.Clock.Advance(Window + TimeSpan.FromMinutes(61));
        _gc.CollectorClock.Skew = -TimeSpan.FromHours(2);
        var restorer = _gc.Collector.Services.GetRequiredService<SoftDeletes>();

        _gc.Gate.HoldBefore(StorageGate.IsBatch);
        var restore = restorer.RestoreManifestAsync(Name(repo), Digest(image.Digest), force: false, Origin, CancellationToken.None);
        await _gc.Gate.Reached;
        var report = await _gc.Pusher.Services.GetRequiredService<GarbageCollector>().RunAsync(dryRun: false, CancellationToken.None);
        _gc.Gate.Release();
        var refused = await restore;

        Assert.Equal(Failure.ManifestUnknown, refused.Error?.Failure);
        Assert.Contains("can no longer be restored", refused.Error!.Detail, StringComparison.Ordinal);
        Assert.Equal(image.Blobs.Order(), report.Items.Where(i => i.Kind == CollectedKind.Link && i.Repository == repo).Select(i => i.Digest.Value).Order());
        Assert.False(await _gc.RowExistsAsync(repo, "manifest:" + image.Digest));
        Assert.False(await _gc.RowExistsAsync(repo, "tag:v1"));
        Assert.Equal(HttpStatusCode.NotFound, (await _gc.Client.GetAsync($"/v2/{repo}/manifests/{image.Digest}")).StatusCode);
    }

    [Fact]
    public async Task RestoreAfterTheCollectorEndedTheWindow_IsRefused()
    {
        var (repo, image) = await DeletedImageAsync();
        _gc.Clock.Advance(Window - TimeSpan.FromMinutes(1));
        _gc.CollectorClock.Skew = TimeSpan.FromHours(2);

        // The collector removed the deleted: row and is about to remove the first link when the restore starts.
        _gc.Gate.HoldBefore(request => StorageGate.IsEntityDelete(request, "blob:"));
        var run = _gc.CollectAsync(TimeSpan.Zero);
        await _gc.Gate.Reached;
        var refused = await Restorer.RestoreManifestAsync(Name(repo), Digest(image.Digest), force: false, Origin, CancellationToken.None);
        _gc.Gate.Release();
        await run;

        Assert.Equal(Failure.ManifestUnknown, refused.Error?.Failure);
        Assert.False(await _gc.RowExistsAsync(repo, "manifest:" + image.Digest));
    }

    private sealed record Image(string Digest, byte[] Manifest, byte[] Layer, string[] Blobs);

    /// <summary>An image (config and one layer) pushed as <c>v1</c> to a repository of its own, then deleted by digest.</summary>
    private async Task<(string Repo, Image Image)> DeletedImageAsync()
    {
        var repo = RegistryFixture.NewRepository();
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"{Guid.NewGuid()}\"}}");
        var layer = OciTestClient.RandomBytes(2400);
        await _gc.Oci.PushBlobAsync(repo, config);
        await _gc.Oci.PushBlobAsync(repo, layer);
        var manifest = OciTestClient.ImageManifest(config, [layer]);
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, "v1", manifest)).StatusCode);
        var digest = OciTestClient.DigestOf(manifest);
        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _gc.Client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
        return (repo, new Image(digest, manifest, layer, [OciTestClient.DigestOf(config), OciTestClient.DigestOf(layer)]));
    }

    private async Task AssertPullsAsync(string repo, string tag, Image image)
    {
        Assert.Equal(image.Manifest, await _gc.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{tag}"));
        Assert.Equal(image.Layer, await _gc.Following.GetByteArrayAsync($"/v2/{repo}/blobs/{image.Blobs[1]}"));
    }

    private static RepositoryName Name(string repo) => RepositoryName.TryParse(repo, out var name) ? name : throw new ArgumentException(repo);

    private static Digest Digest(string text) => Registry.Oci.Digest.TryParse(text, out var digest) == DigestParse.Valid ? digest : throw new ArgumentException(text);
}
