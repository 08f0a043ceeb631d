using System.Net;
using System.Text;
using Registry.Collection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// docs/reliability.md row F13 for garbage collection: a collector whose clock is 5 minutes off the instance that took
/// the pushes and deletes (<see cref="CollectedStorage.CollectorClock"/>). Behind, it deletes nothing before the grace
/// period and then collects exactly what an accurate one would. Ahead, it keeps everything still used and collects the
/// same, but only the grace period less the skew is guaranteed: ages are taken from storage's <c>Timestamp</c> and from
/// review keys written with the writer's clock, both against the collector's own clock (src/Registry/Storage/TableKeys.cs,
/// "Collecting garbage"), so a collector that is ahead sees every age as older by its skew.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class CollectorClockSkewTests(RegistryFixture registry) : IAsyncLifetime
{
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Grace = TimeSpan.FromHours(1);

    private CollectedStorage _gc = null!;

    public async Task InitializeAsync() => _gc = await CollectedStorage.StartAsync(registry.Storage);

    public async Task DisposeAsync() => await _gc.DisposeAsync();

    [Fact]
    public async Task F13_CollectorClock5MinutesBehind_DeletesNothingBeforeTheGrace_ThenCollectsExactlyTheDeletedImagesOwnBlobs()
    {
        _gc.CollectorClock.Skew = -Skew;
        var images = await DeletedAndKeptImagesAsync();

        // By the writer's clock the grace passed 4 minutes ago; by the collector's it has not.
        Assert.Empty((await _gc.CollectAsync(Grace + Skew - TimeSpan.FromMinutes(1))).Items);
        var links = await _gc.CollectAsync(TimeSpan.FromMinutes(2));
        var content = await _gc.CollectAsync(Grace + TimeSpan.FromMinutes(1));

        await images.AssertCollectedAsync(_gc, links, content);
    }

    [Fact]
    public async Task F13_CollectorClock5MinutesAhead_DeletesNothingBeforeTheGraceLessTheSkew_KeepsWhatIsUsed_ThenCollectsTheSame()
    {
        _gc.CollectorClock.Skew = Skew;
        var images = await DeletedAndKeptImagesAsync();

        Assert.Empty((await _gc.CollectAsync(Grace - Skew - TimeSpan.FromMinutes(1))).Items);
        var links = await _gc.CollectAsync(Skew + TimeSpan.FromMinutes(2));
        var content = await _gc.CollectAsync(Grace + TimeSpan.FromMinutes(1));

        await images.AssertCollectedAsync(_gc, links, content);
    }

    /// <summary>
    /// Two images of one repository sharing a layer, pushed and tagged through the pusher; the first then deleted by
    /// digest. Its config and own layer are garbage; the shared layer and the second image are not.
    /// </summary>
    private async Task<Images> DeletedAndKeptImagesAsync()
    {
        var repo = RegistryFixture.NewRepository("skew");
        var shared = OciTestClient.RandomBytes(3000);
        var own = OciTestClient.RandomBytes(2000);
        var deletedConfig = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"image\":\"deleted\"}");
        var keptConfig = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"image\":\"kept\"}");
        foreach (var blob in new[] { shared, own, deletedConfig, keptConfig })
        {
            await _gc.Oci.PushBlobAsync(repo, blob);
        }
        var deleted = OciTestClient.ImageManifest(deletedConfig, [shared, own]);
        var kept = OciTestClient.ImageManifest(keptConfig, [shared]);
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, "deleted", deleted)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, "kept", kept)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(deleted)}")).StatusCode);
        return new Images(repo, [deletedConfig, own], [keptConfig, shared], kept);
    }

    private sealed record Images(string Repository, byte[][] Garbage, byte[][] Used, byte[] Kept)
    {
        /// <summary>The links of exactly the garbage went in the first run past the grace, their content in the next; the rest pulls.</summary>
        public async Task AssertCollectedAsync(CollectedStorage gc, CollectionReport links, CollectionReport content)
        {
            var garbage = Garbage.Select(OciTestClient.DigestOf).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(garbage, links.Items.Where(i => i.Kind == CollectedKind.Link).Select(i => i.Digest.Value).Order(StringComparer.Ordinal));
            Assert.Equal(links.Items.Count, links.Count(CollectedKind.Link));
            Assert.Equal(garbage, content.Items.Where(i => i.Kind == CollectedKind.Content).Select(i => i.Digest.Value).Order(StringComparer.Ordinal));
            Assert.Equal(content.Items.Count, content.Count(CollectedKind.Content));
            foreach (var digest in garbage)
            {
                Assert.Null(await gc.BlobNameOfAsync(digest));
            }
            Assert.Equal(Kept, await gc.Client.GetByteArrayAsync($"/v2/{Repository}/manifests/kept"));
            foreach (var blob in Used)
            {
                Assert.Equal(blob, await gc.Following.GetByteArrayAsync($"/v2/{Repository}/blobs/{OciTestClient.DigestOf(blob)}"));
            }
            Assert.Empty((await gc.CollectAsync(TimeSpan.FromHours(2))).Items);
        }
    }
}
