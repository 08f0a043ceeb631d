using System.Net;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Conformance;

/// <summary>The distribution-spec "content management" workflow: deleting tags, manifests and blobs.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class ManagementTests(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    [Fact]
    public async Task DeleteTag_Returns202_TagGoneButManifestStays()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "v1");
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/v1")).StatusCode);
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync($"/v2/{repo}/manifests/v1"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(HttpStatusCode.OK, (await registry.Client.GetAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(manifest)}")).StatusCode);
        await OciTestClient.AssertErrorAsync(await registry.Client.DeleteAsync($"/v2/{repo}/manifests/v1"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task DeleteManifestByDigest_Returns202_AndRemovesItsTags()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "v1");
        await _oci.PutManifestAsync(repo, "v2", manifest);
        var other = await _oci.PushImageAsync(repo, "keep");
        var digest = OciTestClient.DigestOf(manifest);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/v2")).StatusCode);
        Assert.Equal(other, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/keep"));
        var tags = await registry.Client.GetStringAsync($"/v2/{repo}/tags/list");
        Assert.Contains("keep", tags, StringComparison.Ordinal);
        Assert.DoesNotContain("\"v1\"", tags, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteBlob_Returns202_ThenTheBlobIsUnknownHere()
    {
        var repo = RegistryFixture.NewRepository();
        var digest = await _oci.PushBlobAsync(repo, OciTestClient.RandomBytes(10));
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/blobs/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{digest}")).StatusCode);
        await OciTestClient.AssertErrorAsync(await registry.Client.DeleteAsync($"/v2/{repo}/blobs/{digest}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task DeleteReferrer_RemovesItFromTheReferrersList()
    {
        var repo = RegistryFixture.NewRepository();
        var empty = "{}"u8.ToArray();
        await _oci.PushBlobAsync(repo, empty);
        var subject = $"sha256:{new string('e', 64)}";
        var artifact = OciTestClient.ImageManifest(empty, [], subject, 1, "application/vnd.example.sig", "application/vnd.oci.empty.v1+json");
        var digest = OciTestClient.DigestOf(artifact);
        await _oci.PutManifestAsync(repo, digest, artifact);
        Assert.Contains(digest, await registry.Client.GetStringAsync($"/v2/{repo}/referrers/{subject}"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        Assert.DoesNotContain(digest, await registry.Client.GetStringAsync($"/v2/{repo}/referrers/{subject}"), StringComparison.Ordinal);
    }
}
