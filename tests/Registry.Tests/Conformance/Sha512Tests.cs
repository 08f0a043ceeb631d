using System.Net;
using System.Security.Cryptography;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Conformance;

/// <summary>The conformance suite repeats every push with sha512 digests, without announcing the algorithm up front.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class Sha512Tests(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    private static string Sha512Of(byte[] content) => "sha512:" + Convert.ToHexStringLower(SHA512.HashData(content));

    [Fact]
    public async Task MonolithicAndChunkedUploads_WithSha512Digests_Complete()
    {
        var repo = RegistryFixture.NewRepository();
        var whole = OciTestClient.RandomBytes(3067);
        var post = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/?digest={Sha512Of(whole)}", OciTestClient.Octets(whole));
        Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        Assert.Equal(whole, await registry.FollowingClient.GetByteArrayAsync(post.Headers.Location));

        var chunked = OciTestClient.RandomBytes(3067);
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var chunk = OciTestClient.Octets(chunked[..1024]);
        chunk.Headers.TryAddWithoutValidation("Content-Range", "0-1023");
        var patch = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, start.Headers.Location) { Content = chunk });
        var last = OciTestClient.Octets(chunked[1024..]);
        last.Headers.TryAddWithoutValidation("Content-Range", "1024-3066");
        var put = await registry.Client.PutAsync(OciTestClient.WithDigest(patch.Headers.Location!, Sha512Of(chunked)), last);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal($"/v2/{repo}/blobs/{Sha512Of(chunked)}", put.Headers.Location!.OriginalString);
        Assert.Equal(chunked, await registry.FollowingClient.GetByteArrayAsync(put.Headers.Location));
    }

    [Fact]
    public async Task ChunkedUpload_WithAWrongSha512_Is400_AndNothingIsVisible()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(100);
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var patch = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, start.Headers.Location) { Content = OciTestClient.Octets(content) });
        var claimed = Sha512Of([.. content, .. "oh no"u8.ToArray()]);
        await OciTestClient.AssertErrorAsync(await registry.Client.PutAsync(OciTestClient.WithDigest(patch.Headers.Location!, claimed), null), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.Equal(HttpStatusCode.NotFound, (await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{claimed}")).StatusCode);
    }

    [Fact]
    public async Task Manifest_PushedBySha512Digest_IsServedByThatDigest()
    {
        var repo = RegistryFixture.NewRepository();
        var config = "{}"u8.ToArray();
        var layer = OciTestClient.RandomBytes(512);
        await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/?digest={Sha512Of(config)}", OciTestClient.Octets(config));
        await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/?digest={Sha512Of(layer)}", OciTestClient.Octets(layer));
        var manifest = System.Text.Encoding.UTF8.GetBytes(
            $$"""{"schemaVersion":2,"mediaType":"{{OciTestClient.OciManifest}}","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{{Sha512Of(config)}}","size":2},"layers":[{"mediaType":"application/octet-stream","digest":"{{Sha512Of(layer)}}","size":512}]}""");
        var digest = Sha512Of(manifest);
        var put = await _oci.PutManifestAsync(repo, digest, manifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(digest, put.Headers.GetValues("Docker-Content-Digest").Single());
        var get = await registry.Client.GetAsync($"/v2/{repo}/manifests/{digest}");
        Assert.Equal(manifest, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/{digest}")).StatusCode);
    }
}
