using System.Net;
using System.Text;
using Registry.Collection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// A blob's live user found behind many stale <c>usedby</c> rows (of deleted manifests). <c>ManifestUses.FindUsersAsync</c>
/// once stopped after 20 rows and answered "no users" when all 20 were stale, so a blob DELETE unlinked, and the
/// collector deleted the link, the content and the bytes of, a layer a tagged manifest still used (found by the L5 tests).
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class StaleUsesTests(RegistryFixture registry) : IAsyncLifetime
{
    private CollectedStorage _gc = null!;

    public async Task InitializeAsync() => _gc = await CollectedStorage.StartAsync(registry.Storage);

    public async Task DisposeAsync() => await _gc.DisposeAsync();

    [Fact]
    public async Task LayerOfATaggedManifest_WhoseUseSortsAfter21DeletedOnes_IsRefusedADelete_AndSurvivesCollection()
    {
        var repo = RegistryFixture.NewRepository();
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
        var layer = OciTestClient.RandomBytes(2000);
        await _gc.Oci.PushBlobAsync(repo, config);
        await _gc.Oci.PushBlobAsync(repo, layer);
        var manifests = Enumerable.Range(0, 22)
            .Select(i => OciTestClient.ImageManifest(config, [layer], annotations: new() { ["n"] = i.ToString() }))
            .OrderBy(OciTestClient.DigestOf, StringComparer.Ordinal).ToList();
        foreach (var m in manifests)
        {
            Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, OciTestClient.DigestOf(m), m)).StatusCode);
        }
        var live = manifests[^1];
        Assert.Equal(HttpStatusCode.Created, (await _gc.Oci.PutManifestAsync(repo, "live", live)).StatusCode);
        foreach (var m in manifests[..^1])
        {
            Assert.Equal(HttpStatusCode.Accepted, (await _gc.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(m)}")).StatusCode);
        }
        var refused = await _gc.Client.DeleteAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}");
        await OciTestClient.AssertErrorAsync(refused, HttpStatusCode.Conflict, "DENIED");
        var deleted = (await _gc.CollectFullyAsync()).SelectMany(r => r.Items).ToList();
        Assert.True(await _gc.RowExistsAsync(repo, "blob:" + OciTestClient.DigestOf(layer)), "the tagged manifest's layer link was collected");
        Assert.DoesNotContain(deleted, i => i.Digest.Value == OciTestClient.DigestOf(layer));
        Assert.Equal(layer, await _gc.Following.GetByteArrayAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}"));
    }
}
