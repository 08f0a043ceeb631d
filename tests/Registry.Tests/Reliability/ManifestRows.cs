using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>docs/reliability.md rows 23–31: hostile manifests.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class ManifestRows(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    private static byte[] Json(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    [Fact]
    public async Task Row23_LayerNeverPushed_OrOnlyInAnotherRepository_Is400ManifestBlobUnknown()
    {
        var repo = RegistryFixture.NewRepository();
        var other = RegistryFixture.NewRepository();
        var config = "{}"u8.ToArray();
        var foreign = OciTestClient.RandomBytes(100);
        await _oci.PushBlobAsync(repo, config);
        await _oci.PushBlobAsync(other, foreign);
        var neverPushed = OciTestClient.ImageManifest(config, [OciTestClient.RandomBytes(10)]);
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "a", neverPushed), HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        var elsewhere = OciTestClient.ImageManifest(config, [foreign]);
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "b", elsewhere), HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/b")).StatusCode);
    }

    [Fact]
    public async Task Row24_IndexWithAnAbsentChild_Is400ManifestBlobUnknown()
    {
        var repo = RegistryFixture.NewRepository();
        var present = await _oci.PushImageAsync(repo, "present");
        var index = Json(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciIndex,
            ["manifests"] = new JsonArray(
                OciTestClient.Descriptor(OciTestClient.OciManifest, present),
                OciTestClient.Descriptor(OciTestClient.OciManifest, OciTestClient.RandomBytes(5))),
        });
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "idx", index, OciTestClient.OciIndex), HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
    }

    [Fact]
    public async Task Row25_OversizedManifests_Are413_AndA39MBOneIsAccepted()
    {
        var repo = RegistryFixture.NewRepository();
        var config = "{}"u8.ToArray();
        await _oci.PushBlobAsync(repo, config);
        var justUnder = OciTestClient.ImageManifest(config, [], annotations: new() { ["pad"] = new string('x', 3_900_000) });
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "big", justUnder)).StatusCode);
        Assert.Equal(justUnder, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/big"));

        var overByOne = new byte[4 * 1024 * 1024 + 1];
        Array.Fill(overByOne, (byte)' ');
        var response = await _oci.PutManifestAsync(repo, "over", overByOne);
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "MANIFEST_INVALID");

        // 50 MB streamed without Content-Length: the server stops reading after limit + 1 bytes.
        using var huge = new HttpRequestMessage(HttpMethod.Put, $"/v2/{repo}/manifests/huge")
        {
            Content = new StreamContent(new UnseekableZeros(50_000_000)),
        };
        huge.Content.Headers.ContentType = new(OciTestClient.OciManifest);
        var hugeResponse = await registry.Client.SendAsync(huge);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, hugeResponse.StatusCode);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{")]
    public async Task Row26_InvalidOrTruncatedJson_Is400ManifestInvalid(string body)
    {
        var repo = RegistryFixture.NewRepository();
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "x", Encoding.UTF8.GetBytes(body)), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task Row26_DeepNestingAndMillionsOfDescriptors_Are400ManifestInvalid()
    {
        var repo = RegistryFixture.NewRepository();
        var deep = Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"a\":" + new string('[', 100_000) + new string(']', 100_000) + "}");
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "deep", deep), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        var layer = "{\"mediaType\":\"a/b\",\"digest\":\"sha256:" + new string('1', 64) + "\",\"size\":1}";
        var sb = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":" + layer + ",\"layers\":[");
        while (sb.Length < 4_000_000)
        {
            sb.Append(layer).Append(',');
        }
        sb.Append(layer).Append("]}");
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "many", Encoding.UTF8.GetBytes(sb.ToString())), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task Row27_LayersAndManifestsTogether_OrMediaTypeContradictingContentType_Is400()
    {
        var repo = RegistryFixture.NewRepository();
        var config = "{}"u8.ToArray();
        await _oci.PushBlobAsync(repo, config);
        var both = JsonNode.Parse(OciTestClient.ImageManifest(config, []))!;
        both["manifests"] = new JsonArray();
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "both", Json(both)), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        var image = OciTestClient.ImageManifest(config, []);
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "confused", image, OciTestClient.OciIndex), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task Row28_DigestReferenceNotMatchingTheBody_Is400DigestInvalid()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "x");
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, $"sha256:{new string('0', 64)}", manifest), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "sha256:baddigeststring", manifest), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/sha256:{new string('0', 64)}")).StatusCode);
    }

    [Fact]
    public async Task Row29_NegativeSize_OrSizeDifferentFromTheBlob_Is400ManifestInvalid()
    {
        var repo = RegistryFixture.NewRepository();
        var config = "{}"u8.ToArray();
        var layer = OciTestClient.RandomBytes(100);
        await _oci.PushBlobAsync(repo, config);
        await _oci.PushBlobAsync(repo, layer);
        var negative = JsonNode.Parse(OciTestClient.ImageManifest(config, [layer]))!;
        negative["layers"]![0]!["size"] = -1;
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "neg", Json(negative)), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        var wrong = JsonNode.Parse(OciTestClient.ImageManifest(config, [layer]))!;
        wrong["layers"]![0]!["size"] = 99;
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, "wrong", Json(wrong)), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task Row30_SubjectThatDoesNotExist_Is201WithOciSubject()
    {
        var repo = RegistryFixture.NewRepository();
        var config = "{}"u8.ToArray();
        await _oci.PushBlobAsync(repo, config);
        var subject = $"sha256:{new string('7', 64)}";
        var manifest = OciTestClient.ImageManifest(config, [], subject, 10, "application/vnd.example");
        var response = await _oci.PutManifestAsync(repo, "sig", manifest);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(subject, response.Headers.GetValues("OCI-Subject").Single());
    }

    [Fact]
    public async Task Row31_NonDistributableLayerUrls_AreStoredButNeverFetched()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var repo = RegistryFixture.NewRepository();
        var config = "{}"u8.ToArray();
        await _oci.PushBlobAsync(repo, config);
        var manifest = JsonNode.Parse(OciTestClient.ImageManifest(config, []))!;
        manifest["layers"] = new JsonArray(new JsonObject
        {
            ["mediaType"] = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            ["digest"] = $"sha256:{new string('5', 64)}",
            ["size"] = 1234,
            ["urls"] = new JsonArray($"http://127.0.0.1:{port}/layer", "http://169.254.169.254/latest/meta-data/"),
        });
        var body = Json(manifest);
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "foreign", body)).StatusCode);
        Assert.Equal(body, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/foreign"));
        Assert.False(listener.Pending(), "the registry connected to a URL from a manifest");
    }

    private sealed class UnseekableZeros(long length) : Stream
    {
        private long _left = length;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, _left);
            Array.Clear(buffer, offset, n);
            _left -= n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
