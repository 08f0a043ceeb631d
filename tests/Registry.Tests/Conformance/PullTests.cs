using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Conformance;

/// <summary>The distribution-spec "pull" workflow, over real HTTP against the registry on Azurite.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class PullTests(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    [Fact]
    public async Task GetV2_Returns200WithApiVersionHeader()
    {
        var response = await registry.Client.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
    }

    [Fact]
    public async Task GetManifest_ByTagAndByDigest_ReturnsTheExactBytesAndDigest()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "v1");
        var digest = OciTestClient.DigestOf(manifest);
        foreach (var reference in new[] { "v1", digest })
        {
            var response = await registry.Client.GetAsync($"/v2/{repo}/manifests/{reference}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(manifest, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(digest, response.Headers.GetValues("Docker-Content-Digest").Single());
            Assert.Equal(OciTestClient.OciManifest, response.Content.Headers.ContentType!.MediaType);
        }
    }

    [Fact]
    public async Task HeadManifest_ByTagAndByDigest_Returns200WithLengthAndNoBody()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "v1");
        foreach (var reference in new[] { "v1", OciTestClient.DigestOf(manifest) })
        {
            var response = await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/{reference}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(manifest.Length, response.Content.Headers.ContentLength);
            Assert.Equal(OciTestClient.DigestOf(manifest), response.Headers.GetValues("Docker-Content-Digest").Single());
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task GetManifest_Unknown_Returns404ManifestUnknown()
    {
        var repo = RegistryFixture.NewRepository();
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync($"/v2/{repo}/manifests/nope"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        var head = await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/sha256:{new string('0', 64)}");
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Fact]
    public async Task GetManifest_AcceptListingOnlyAnotherType_Returns404()
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "v1");
        var response = await _oci.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/v1",
            configure: r => r.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(OciTestClient.OciIndex)));
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        var ok = await _oci.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/v1",
            configure: r => r.Headers.Accept.ParseAdd($"{OciTestClient.OciIndex}, {OciTestClient.OciManifest}"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task HeadBlob_AnsweredWithSizeAndDigest()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(4000);
        var digest = await _oci.PushBlobAsync(repo, content);
        var response = await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4000, response.Content.Headers.ContentLength);
        Assert.Equal(digest, response.Headers.GetValues("Docker-Content-Digest").Single());
    }

    [Fact]
    public async Task GetBlob_RedirectsToAReadOnlySasUrl_ThatServesTheBytes()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(10_000);
        var digest = await _oci.PushBlobAsync(repo, content);
        var redirect = await registry.Client.GetAsync($"/v2/{repo}/blobs/{digest}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirect.StatusCode);
        var location = redirect.Headers.Location!;
        Assert.Equal(registry.Storage.BlobPort, location.Port);
        var query = System.Web.HttpUtility.ParseQueryString(location.Query);
        Assert.Equal("r", query["sp"]);
        Assert.Equal("b", query["sr"]);
        Assert.NotNull(query["se"]);
        using var plain = new HttpClient();
        Assert.Equal(content, await plain.GetByteArrayAsync(location));
        // The SAS allows reading only: an attempt to overwrite the blob through it is refused.
        var write = await plain.PutAsync(location, new ByteArrayContent(Encoding.UTF8.GetBytes("evil")) { Headers = { { "x-ms-blob-type", "BlockBlob" } } });
        Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
    }

    [Fact]
    public async Task GetBlob_WithRange_FollowingTheRedirect_ReturnsTheSlice()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(4000);
        var digest = await _oci.PushBlobAsync(repo, content);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/blobs/{digest}");
        request.Headers.Range = new RangeHeaderValue(100, 199);
        var response = await registry.FollowingClient.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(content[100..200], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetBlob_Unknown_Returns404BlobUnknown()
    {
        var repo = RegistryFixture.NewRepository();
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync($"/v2/{repo}/blobs/sha256:{new string('a', 64)}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        var head = await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/sha256:{new string('a', 64)}");
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }
}
