using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>docs/reliability.md rows 32–34 and 36–38: pagination, ranges and referrers under hostile parameters.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class DiscoveryRows(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    [Theory]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    public async Task Row32_MalformedN_Is400(string n)
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "x");
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync($"/v2/{repo}/tags/list?n={n}"), HttpStatusCode.BadRequest, "UNSUPPORTED");
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync($"/v2/_catalog?n={n}"), HttpStatusCode.BadRequest, "UNSUPPORTED");
    }

    [Theory]
    [InlineData("1000000000000")]
    [InlineData("9223372036854775808")]
    public async Task Row33_HugeN_IsClampedToTheMaximumPage(string n)
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "t0");
        await Task.WhenAll(Enumerable.Range(1, 1004).Chunk(16).Select(async chunk =>
        {
            foreach (var i in chunk)
            {
                Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, $"t{i}", manifest)).StatusCode);
            }
        }));
        var response = await registry.Client.GetAsync($"/v2/{repo}/tags/list?n={n}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(1000, doc.RootElement.GetProperty("tags").GetArrayLength());
        Assert.Contains("n=1000&last=", response.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Row34_HugeLastOrQueryString_IsRefusedBoundedly()
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "x");
        var (status, _) = await RawHttp.SendAsync(registry.BaseAddress,
            $"GET /v2/{repo}/tags/list?last={new string('a', 1024 * 1024)} HTTP/1.1\r\nHost: x\r\n{RegistryFixture.Authorization}Connection: close\r\n\r\n");
        Assert.True(status is 400 or 414 or 431 or null, $"status {status}");
        var medium = await registry.Client.GetAsync($"/v2/{repo}/tags/list?last={new string('a', 2000)}");
        await OciTestClient.AssertErrorAsync(medium, HttpStatusCode.BadRequest, "UNSUPPORTED");
        Assert.Equal(HttpStatusCode.OK, (await registry.Client.GetAsync("/v2/")).StatusCode);
    }

    [Theory]
    [InlineData(5000, 10000)]
    [InlineData(500, 0)]
    public async Task Row36_UnsatisfiableRange_Is416WithContentRange(long from, long to)
    {
        var repo = RegistryFixture.NewRepository();
        var digest = await _oci.PushBlobAsync(repo, OciTestClient.RandomBytes(4000));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/blobs/{digest}");
        request.Headers.TryAddWithoutValidation("Range", $"bytes={from}-{to}");
        var response = await registry.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */4000", response.Content.Headers.ContentRange!.ToString());
    }

    [Fact]
    public async Task Row37_SuffixOpenAndMultiRanges_ReturnTheRightBytes()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(4000);
        var digest = await _oci.PushBlobAsync(repo, content);

        async Task<HttpResponseMessage> GetAsync(string range)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/blobs/{digest}");
            request.Headers.TryAddWithoutValidation("Range", range);
            return await registry.FollowingClient.SendAsync(request);
        }

        var suffix = await GetAsync("bytes=-500");
        Assert.Equal(HttpStatusCode.PartialContent, suffix.StatusCode);
        Assert.Equal(content[^500..], await suffix.Content.ReadAsByteArrayAsync());
        var open = await GetAsync("bytes=500-");
        Assert.Equal(HttpStatusCode.PartialContent, open.StatusCode);
        Assert.Equal(content[500..], await open.Content.ReadAsByteArrayAsync());
        var multi = await GetAsync("bytes=0-1,5-6");
        Assert.Equal(HttpStatusCode.PartialContent, multi.StatusCode);
        Assert.Equal("multipart/byteranges", multi.Content.Headers.ContentType!.MediaType);
        var text = System.Text.Encoding.Latin1.GetString(await multi.Content.ReadAsByteArrayAsync());
        Assert.Contains("Content-Range: bytes 0-1/4000\r\n\r\n" + System.Text.Encoding.Latin1.GetString(content[0..2]), text, StringComparison.Ordinal);
        Assert.Contains("Content-Range: bytes 5-6/4000\r\n\r\n" + System.Text.Encoding.Latin1.GetString(content[5..7]), text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Row38_ReferrersOfAMalformedDigest_Is400_AndAHugeFilterIsBounded()
    {
        var repo = RegistryFixture.NewRepository();
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync($"/v2/{repo}/referrers/sha256:zz"), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        var (status, _) = await RawHttp.SendAsync(registry.BaseAddress,
            $"GET /v2/{repo}/referrers/sha256:{new string('a', 64)}?artifactType={new string('x', 100_000)} HTTP/1.1\r\nHost: x\r\n{RegistryFixture.Authorization}Connection: close\r\n\r\n");
        Assert.True(status is 400 or 414 or 431 or null, $"status {status}");
    }
}
