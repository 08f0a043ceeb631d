using System.Net;
using System.Net.Sockets;
using System.Text;
using Registry.Storage.Uploads;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>docs/reliability.md rows 9–22: hostile blob uploads.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class UploadRows(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    private async Task<Uri> StartAsync(string repo)
    {
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        return start.Headers.Location!;
    }

    private async Task<HttpResponseMessage> PatchAsync(Uri location, byte[] chunk, string? contentRange)
    {
        var content = OciTestClient.Octets(chunk);
        if (contentRange is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        }
        using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = content };
        return await registry.Client.SendAsync(request);
    }

    private async Task AssertBlobAbsentAsync(string repo, string digest) =>
        Assert.Equal(HttpStatusCode.NotFound, (await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{digest}")).StatusCode);

    [Fact]
    public async Task Row09_MonolithicPutWithWrongDigest_Is400DigestInvalid_AndNothingIsVisible()
    {
        var repo = RegistryFixture.NewRepository();
        var claimed = OciTestClient.DigestOf(Encoding.UTF8.GetBytes("the real thing"));
        var location = await StartAsync(repo);
        var put = await registry.Client.PutAsync(OciTestClient.WithDigest(location, claimed), OciTestClient.Octets(Encoding.UTF8.GetBytes("something else")));
        await OciTestClient.AssertErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        await AssertBlobAbsentAsync(repo, claimed);
    }

    [Fact]
    public async Task Row10_SinglePostWithWrongDigest_Is400_AndLeavesNoBlob()
    {
        var repo = RegistryFixture.NewRepository();
        var claimed = OciTestClient.DigestOf([1, 2, 3]);
        var post = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/?digest={claimed}", OciTestClient.Octets([4, 5, 6]));
        await OciTestClient.AssertErrorAsync(post, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.Null(post.Headers.Location);
        await AssertBlobAbsentAsync(repo, claimed);
    }

    [Fact]
    public async Task Row11_BodyShorterThanContentLength_ThenHalfClose_Is400_AndOffsetUnchanged()
    {
        var repo = RegistryFixture.NewRepository();
        var location = await StartAsync(repo);
        Assert.Equal(HttpStatusCode.Accepted, (await PatchAsync(location, new byte[100], "0-99")).StatusCode);
        var (status, text) = await RawHttp.SendAsync(registry.BaseAddress,
            $"PATCH {location} HTTP/1.1\r\nHost: x\r\n{RegistryFixture.Authorization}Content-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n",
            new byte[500], halfClose: true);
        Assert.True(status is 400 or null, text);
        var check = await registry.Client.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, check.StatusCode);
        Assert.Equal("0-99", check.Headers.GetValues("Range").Single());
    }

    [Fact]
    public async Task Row12_ContentLengthSmallerThanBody_OnDigestPut_IsRejected_AndReadsNoFurther()
    {
        var repo = RegistryFixture.NewRepository();
        var body = Encoding.ASCII.GetBytes("0123456789");
        var digest = OciTestClient.DigestOf(body);
        var location = await StartAsync(repo);
        var (status, text) = await RawHttp.SendAsync(registry.BaseAddress,
            $"PUT {location}?digest={digest} HTTP/1.1\r\nHost: x\r\n{RegistryFixture.Authorization}Content-Type: application/octet-stream\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", body);
        Assert.Equal(400, status);
        Assert.True(text.Contains("DIGEST_INVALID", StringComparison.Ordinal) || text.Contains("SIZE_INVALID", StringComparison.Ordinal), text);
        await AssertBlobAbsentAsync(repo, digest);
    }

    [Fact]
    public async Task Row13_PatchNotAtTheOffset_Is416WithRange_AndTheUploadStillCompletes()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(300);
        var location = await StartAsync(repo);
        Assert.Equal(HttpStatusCode.Accepted, (await PatchAsync(location, content[..100], "0-99")).StatusCode);
        var wrong = await PatchAsync(location, content[200..], "200-299");
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, wrong.StatusCode);
        Assert.Equal("0-99", wrong.Headers.GetValues("Range").Single());
        Assert.NotNull(wrong.Headers.Location);
        var status = await registry.Client.GetAsync(wrong.Headers.Location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-99", status.Headers.GetValues("Range").Single());
        Assert.Equal(HttpStatusCode.Accepted, (await PatchAsync(location, content[100..], "100-299")).StatusCode);
        var put = await registry.Client.PutAsync(OciTestClient.WithDigest(location, OciTestClient.DigestOf(content)), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task Row14_BackwardsRange_Is416_AndRangeDisagreeingWithLength_Is400SizeInvalid()
    {
        var repo = RegistryFixture.NewRepository();
        var location = await StartAsync(repo);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await PatchAsync(location, new byte[10], "500-0")).StatusCode);
        await OciTestClient.AssertErrorAsync(await PatchAsync(location, new byte[10], "0-99"), HttpStatusCode.BadRequest, "SIZE_INVALID");
        var status = await registry.Client.GetAsync(location);
        Assert.Equal("0-0", status.Headers.GetValues("Range").Single());
    }

    [Fact]
    public async Task Row15_FinalPutWithOutOfOrderLastChunk_Is416()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(200);
        var location = await StartAsync(repo);
        await PatchAsync(location, content[..100], "0-99");
        var last = OciTestClient.Octets(content[150..]);
        last.Headers.TryAddWithoutValidation("Content-Range", "150-199");
        var put = await registry.Client.PutAsync(OciTestClient.WithDigest(location, OciTestClient.DigestOf(content)), last);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, put.StatusCode);
        await AssertBlobAbsentAsync(repo, OciTestClient.DigestOf(content));
    }

    [Fact]
    public async Task Row16_UnknownOrCancelledUpload_Is404BlobUploadUnknown_ForEveryMethod()
    {
        var repo = RegistryFixture.NewRepository();
        var cancelled = await StartAsync(repo);
        Assert.Equal(HttpStatusCode.NoContent, (await registry.Client.DeleteAsync(cancelled)).StatusCode);
        foreach (var location in new[] { cancelled.OriginalString, $"/v2/{repo}/blobs/uploads/{Guid.NewGuid():N}", $"/v2/{repo}/blobs/uploads/not-a-uuid" })
        {
            var digest = OciTestClient.DigestOf([]);
            await OciTestClient.AssertErrorAsync(await PatchAsync(new Uri(location, UriKind.Relative), [1], null), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
            await OciTestClient.AssertErrorAsync(await registry.Client.PutAsync($"{location}?digest={digest}", null), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
            await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync(location), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
            await OciTestClient.AssertErrorAsync(await registry.Client.DeleteAsync(location), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }
    }

    [Fact]
    public async Task Row17_UploadOfRepositoryA_UsedThroughB_Is404_AndAContinues()
    {
        var a = RegistryFixture.NewRepository();
        var b = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(64);
        var location = await StartAsync(a);
        await PatchAsync(location, content[..32], "0-31");
        var viaB = location.OriginalString.Replace($"/v2/{a}/", $"/v2/{b}/", StringComparison.Ordinal);
        await OciTestClient.AssertErrorAsync(await PatchAsync(new Uri(viaB, UriKind.Relative), content[32..], "32-63"), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await OciTestClient.AssertErrorAsync(await registry.Client.PutAsync($"{viaB}?digest={OciTestClient.DigestOf(content)}", null), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await OciTestClient.AssertErrorAsync(await registry.Client.DeleteAsync(viaB), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.Equal(HttpStatusCode.Accepted, (await PatchAsync(location, content[32..], "32-63")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await registry.Client.PutAsync(OciTestClient.WithDigest(location, OciTestClient.DigestOf(content)), null)).StatusCode);
        await AssertBlobAbsentAsync(b, OciTestClient.DigestOf(content));
    }

    [Fact]
    public async Task Row18_ForgedUploadId_IsUnknown_StateIsServerSide()
    {
        // Upload state never travels with the client: the id only names a Table row in this repository's partition.
        var repo = RegistryFixture.NewRepository();
        var location = await StartAsync(repo);
        var forged = location.OriginalString[..^32] + new string('f', 32);
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync(forged), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        // Client-supplied state parameters are ignored: the server's own record answers.
        var withState = await registry.Client.GetAsync(location + "?_state=forged&offset=999");
        Assert.Equal(HttpStatusCode.NoContent, withState.StatusCode);
        Assert.Equal("0-0", withState.Headers.GetValues("Range").Single());
    }

    [Theory]
    [InlineData("")]
    [InlineData("?digest=")]
    [InlineData("?digest=sha256:abc")]
    public async Task Row19_CompletingWithoutAValidDigest_Is400DigestInvalid(string query)
    {
        var repo = RegistryFixture.NewRepository();
        var location = await StartAsync(repo);
        await PatchAsync(location, [1, 2, 3], "0-2");
        await OciTestClient.AssertErrorAsync(await registry.Client.PutAsync(location + query, null), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.Equal(HttpStatusCode.NoContent, (await registry.Client.GetAsync(location)).StatusCode);
    }

    [Fact]
    public async Task Row20_MountOfAnUnknownDigest_NeverAnswers201()
    {
        var source = RegistryFixture.NewRepository();
        var target = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(source, "x");
        var response = await registry.Client.PostAsync($"/v2/{target}/blobs/uploads/?mount=sha256:{new string('9', 64)}&from={source}", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Row21_ManyTinyChunks_AreAcceptedUpToTheDocumentedLimit_ThenRejectedClearly()
    {
        var repo = RegistryFixture.NewRepository();
        var location = await StartAsync(repo);
        for (var i = 0; i < BlockList.MaxChunks; i++)
        {
            var response = await PatchAsync(location, [(byte)i], $"{i}-{i}");
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        var over = await PatchAsync(location, [0], $"{BlockList.MaxChunks}-{BlockList.MaxChunks}");
        await OciTestClient.AssertErrorAsync(over, HttpStatusCode.BadRequest, "BLOB_UPLOAD_INVALID");
        var expected = Enumerable.Range(0, BlockList.MaxChunks).Select(i => (byte)i).ToArray();
        var put = await registry.Client.PutAsync(OciTestClient.WithDigest(location, OciTestClient.DigestOf(expected)), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(expected, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(expected)}"));
    }

    [Fact]
    public async Task Row22_SlowLorisBody_IsClosedByTheServer_WhileOthersAreServed()
    {
        var repo = RegistryFixture.NewRepository();
        var location = await StartAsync(repo);
        using var slow = new TcpClient();
        await slow.ConnectAsync(registry.BaseAddress.Host, registry.BaseAddress.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"PATCH {location} HTTP/1.1\r\nHost: x\r\n{RegistryFixture.Authorization}Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n"));
        await stream.WriteAsync(new byte[1]);
        // Meanwhile an ordinary client is served.
        Assert.Equal(HttpStatusCode.OK, (await registry.Client.GetAsync("/v2/")).StatusCode);
        // Kestrel's minimum body data rate (240 B/s after a 5 s grace) ends the slow request; bounded wait.
        var (status, text) = await RawHttp.ReadStatusAsync(stream, TimeSpan.FromSeconds(60));
        Assert.True(status is 408 or 400 or null, text);
        var check = await registry.Client.GetAsync(location);
        Assert.Equal("0-0", check.Headers.GetValues("Range").Single());
    }
}
