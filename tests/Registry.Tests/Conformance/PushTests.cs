using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Conformance;

/// <summary>The distribution-spec "push" workflow: every upload style, mounts and manifest pushes.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class PushTests(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    [Fact]
    public async Task PostThenPut_Monolithic_Returns201WithLocationAndDigest()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(5000);
        var digest = OciTestClient.DigestOf(content);
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        Assert.NotNull(start.Headers.Location);
        Assert.Equal("0-0", start.Headers.GetValues("Range").Single());
        var put = await registry.Client.PutAsync(OciTestClient.WithDigest(start.Headers.Location!, digest), OciTestClient.Octets(content));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal($"/v2/{repo}/blobs/{digest}", put.Headers.Location!.OriginalString);
        Assert.Equal(digest, put.Headers.GetValues("Docker-Content-Digest").Single());
    }

    [Fact]
    public async Task PostWithDigest_SingleRequest_Returns201()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(3000);
        var digest = OciTestClient.DigestOf(content);
        var response = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/?digest={digest}", OciTestClient.Octets(content));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var head = await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{digest}");
        Assert.Equal(3000, head.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task ChunkedUpload_WithContentRange_ReportsProgressAndCompletes()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(10_000);
        var digest = OciTestClient.DigestOf(content);
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var location = start.Headers.Location!;
        foreach (var (from, to) in new[] { (0, 4000), (4000, 9000), (9000, 10_000) })
        {
            var chunk = OciTestClient.Octets(content[from..to]);
            chunk.Headers.TryAddWithoutValidation("Content-Range", $"{from}-{to - 1}");
            using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = chunk };
            var response = await registry.Client.SendAsync(patch);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal($"0-{to - 1}", response.Headers.GetValues("Range").Single());
            location = response.Headers.Location!;
            var status = await registry.Client.GetAsync(location);
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            Assert.Equal($"0-{to - 1}", status.Headers.GetValues("Range").Single());
        }
        var put = await registry.Client.PutAsync(OciTestClient.WithDigest(location, digest), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var pulled = await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{digest}");
        Assert.Equal(content, pulled);
    }

    [Fact]
    public async Task StreamingPatch_WithoutContentLength_AsDockerSends_Completes()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(9 * 1024 * 1024 + 17); // several staged blocks and a partial one
        var digest = OciTestClient.DigestOf(content);
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        using var patch = new HttpRequestMessage(HttpMethod.Patch, start.Headers.Location)
        {
            Content = new StreamContent(new NoLengthStream(content)),
        };
        patch.Headers.TransferEncodingChunked = true;
        var response = await registry.Client.SendAsync(patch);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"0-{content.Length - 1}", response.Headers.GetValues("Range").Single());
        var put = await registry.Client.PutAsync(OciTestClient.WithDigest(response.Headers.Location!, digest), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(content, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{digest}"));
    }

    [Fact]
    public async Task PutCarryingTheLastChunk_Completes()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(2000);
        var digest = OciTestClient.DigestOf(content);
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var first = OciTestClient.Octets(content[..1000]);
        first.Headers.TryAddWithoutValidation("Content-Range", "0-999");
        var patch = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, start.Headers.Location) { Content = first });
        var last = OciTestClient.Octets(content[1000..]);
        last.Headers.TryAddWithoutValidation("Content-Range", "1000-1999");
        var put = await registry.Client.PutAsync(OciTestClient.WithDigest(patch.Headers.Location!, digest), last);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(content, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{digest}"));
    }

    [Fact]
    public async Task EmptyBlob_CanBePushedAndPulled()
    {
        var repo = RegistryFixture.NewRepository();
        var digest = await _oci.PushBlobAsync(repo, []);
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", digest);
        var head = await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{digest}");
        Assert.Equal(0, head.Content.Headers.ContentLength);
        Assert.Empty(await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{digest}"));
    }

    [Fact]
    public async Task SameBlobTwice_BothSucceed_AndOneCopyIsServed()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(100);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _oci.PushBlobAsync(repo, content)));
        Assert.Single(results.Distinct());
        var first = (await registry.Client.GetAsync($"/v2/{repo}/blobs/{results[0]}")).Headers.Location!.AbsolutePath;
        var second = (await registry.Client.GetAsync($"/v2/{repo}/blobs/{results[0]}")).Headers.Location!.AbsolutePath;
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Mount_FromARepositoryThatHasTheBlob_Returns201()
    {
        var source = RegistryFixture.NewRepository();
        var target = RegistryFixture.NewRepository();
        var digest = await _oci.PushBlobAsync(source, OciTestClient.RandomBytes(500));
        var response = await registry.Client.PostAsync($"/v2/{target}/blobs/uploads/?mount={digest}&from={source}", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{target}/blobs/{digest}", response.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await _oci.SendAsync(HttpMethod.Head, $"/v2/{target}/blobs/{digest}")).StatusCode);
    }

    [Fact]
    public async Task Mount_OfAnUnknownBlob_OrWithoutFrom_FallsBackTo202Session()
    {
        var source = RegistryFixture.NewRepository();
        var target = RegistryFixture.NewRepository();
        var elsewhere = await _oci.PushBlobAsync(source, OciTestClient.RandomBytes(50));
        var unknown = await registry.Client.PostAsync($"/v2/{target}/blobs/uploads/?mount=sha256:{new string('b', 64)}&from={source}", null);
        Assert.Equal(HttpStatusCode.Accepted, unknown.StatusCode);
        Assert.NotNull(unknown.Headers.Location);
        // Existence in another repository is never proof: without `from`, no link is made.
        var noFrom = await registry.Client.PostAsync($"/v2/{target}/blobs/uploads/?mount={elsewhere}", null);
        Assert.Equal(HttpStatusCode.Accepted, noFrom.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _oci.SendAsync(HttpMethod.Head, $"/v2/{target}/blobs/{elsewhere}")).StatusCode);
    }

    [Fact]
    public async Task PutManifest_ByTag_Returns201WithLocationAndDigest()
    {
        var repo = RegistryFixture.NewRepository();
        var config = Encoding.UTF8.GetBytes("{}");
        var layer = OciTestClient.RandomBytes(64);
        await _oci.PushBlobAsync(repo, config);
        await _oci.PushBlobAsync(repo, layer);
        var manifest = OciTestClient.ImageManifest(config, [layer]);
        var response = await _oci.PutManifestAsync(repo, "latest", manifest);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var digest = OciTestClient.DigestOf(manifest);
        Assert.Equal($"/v2/{repo}/manifests/{digest}", response.Headers.Location!.OriginalString);
        Assert.Equal(digest, response.Headers.GetValues("Docker-Content-Digest").Single());
    }

    [Fact]
    public async Task PutManifest_ByDigest_Returns201()
    {
        var repo = RegistryFixture.NewRepository();
        var config = Encoding.UTF8.GetBytes("{}");
        await _oci.PushBlobAsync(repo, config);
        var manifest = OciTestClient.ImageManifest(config, [], configMediaType: "application/vnd.oci.empty.v1+json", artifactType: "application/vnd.example.thing");
        var response = await _oci.PutManifestAsync(repo, OciTestClient.DigestOf(manifest), manifest);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(OciTestClient.EmptyConfigDigest, OciTestClient.DigestOf(config));
    }

    [Fact]
    public async Task PutIndex_OverPushedChildren_Returns201_AndServesTheIndex()
    {
        var repo = RegistryFixture.NewRepository();
        var amd = await _oci.PushImageAsync(repo, "amd64");
        var arm = await _oci.PushImageAsync(repo, "arm64");
        var index = Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciIndex,
            ["manifests"] = new System.Text.Json.Nodes.JsonArray(
                OciTestClient.Descriptor(OciTestClient.OciManifest, amd),
                OciTestClient.Descriptor(OciTestClient.OciManifest, arm)),
        }.ToJsonString());
        var put = await _oci.PutManifestAsync(repo, "multi", index, OciTestClient.OciIndex);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var get = await registry.Client.GetAsync($"/v2/{repo}/manifests/multi");
        Assert.Equal(OciTestClient.OciIndex, get.Content.Headers.ContentType!.MediaType);
        Assert.Equal(index, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task PutManifest_LargerThanTheInlineLimit_IsStoredInBlobAndServed()
    {
        var repo = RegistryFixture.NewRepository();
        var config = Encoding.UTF8.GetBytes("{}");
        await _oci.PushBlobAsync(repo, config);
        var annotations = new Dictionary<string, string> { ["big"] = new string('x', 200_000) };
        var manifest = OciTestClient.ImageManifest(config, [], annotations: annotations);
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "big", manifest)).StatusCode);
        Assert.Equal(manifest, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/big"));
        var head = await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/big");
        Assert.Equal(manifest.Length, head.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task TagMovedByConcurrentPushes_EndsAtOneOfThem_AndEveryPushSucceeds()
    {
        var repo = RegistryFixture.NewRepository();
        var manifests = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => _oci.PushImageAsync(repo, $"m{i}")));
        var puts = await Task.WhenAll(manifests.Select(m => _oci.PutManifestAsync(repo, "contended", m)));
        Assert.All(puts, p => Assert.Equal(HttpStatusCode.Created, p.StatusCode));
        var final = await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/contended");
        Assert.Contains(manifests, m => m.AsSpan().SequenceEqual(final));
    }

    [Fact]
    public async Task CancelUpload_Returns204_ThenTheUploadIsUnknown()
    {
        var repo = RegistryFixture.NewRepository();
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var cancel = await registry.Client.DeleteAsync(start.Headers.Location);
        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync(start.Headers.Location), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    /// <summary>A stream whose length is unknown, so HttpClient sends it chunked as docker does.</summary>
    private sealed class NoLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
