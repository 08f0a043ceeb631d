using System.Net;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>docs/reliability.md rows 1–8: hostile names, references and digests.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class NameAndDigestRows(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    [Theory]
    [InlineData("/v2/../../etc/passwd/manifests/latest")]
    [InlineData("/v2/%2e%2e/%2e%2e/etc/passwd/manifests/latest")]
    [InlineData("/v2/..%2f..%2fetc/passwd/manifests/latest")]
    [InlineData("/v2/%252e%252e/etc/manifests/latest")]
    [InlineData("/v2/a/../../../etc/passwd/blobs/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    public async Task Row01_PathTraversal_Answers400Or404(string path)
    {
        var (status, text) = await RawHttp.SendAsync(registry.BaseAddress, $"GET {path} HTTP/1.1\r\nHost: x\r\n{RegistryFixture.Authorization}Connection: close\r\n\r\n");
        Assert.True(status is 400 or 404, $"{path} → {text}");
    }

    [Theory]
    [InlineData("Library/Alpine")]
    [InlineData("a//b")]
    [InlineData("-a")]
    [InlineData("a_")]
    [InlineData("a..b")]
    [InlineData("a/")]
    public async Task Row02_OffGrammarNames_Push400NameInvalid_Pull404(string name)
    {
        var push = await registry.Client.PostAsync($"/v2/{name}/blobs/uploads/", null);
        await OciTestClient.AssertErrorAsync(push, HttpStatusCode.BadRequest, "NAME_INVALID");
        var pull = await registry.Client.GetAsync($"/v2/{name}/manifests/latest");
        Assert.Equal(HttpStatusCode.NotFound, pull.StatusCode);
    }

    [Fact]
    public async Task Row02_EmptyName_IsNotAnEndpoint()
    {
        var response = await registry.Client.PostAsync("/v2//blobs/uploads/", null);
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Row03_OverlongName_Is400NameInvalid()
    {
        var name = new string('a', 300);
        await OciTestClient.AssertErrorAsync(await registry.Client.PostAsync($"/v2/{name}/blobs/uploads/", null), HttpStatusCode.BadRequest, "NAME_INVALID");
        var components = string.Join('/', Enumerable.Repeat("a", 10_000));
        var (status, _) = await RawHttp.SendAsync(registry.BaseAddress, $"POST /v2/{components}/blobs/uploads/ HTTP/1.1\r\nHost: x\r\n{RegistryFixture.Authorization}Content-Length: 0\r\nConnection: close\r\n\r\n");
        Assert.True(status is 400 or 414, $"status {status}");
    }

    [Theory]
    [InlineData("-bad")]
    [InlineData(".x")]
    [InlineData("a:b")]
    [InlineData("t%C3%A9st")]
    public async Task Row04_BadTags_Put400_Get404(string tag)
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "ok");
        var put = await _oci.PutManifestAsync(repo, tag, manifest);
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Contains(await OciTestClient.ErrorCodeAsync(put), new[] { "MANIFEST_INVALID", "DIGEST_INVALID" });
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/{tag}")).StatusCode);
    }

    [Fact]
    public async Task Row04_TagOf129CharactersOrWithSlash_IsRejected()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "ok");
        await OciTestClient.AssertErrorAsync(await _oci.PutManifestAsync(repo, new string('a', 129), manifest), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        // A slash makes it part of the path: the name "repo/manifests/a" then has no manifest endpoint of its own.
        Assert.True((await _oci.PutManifestAsync(repo, "a/b", manifest)).StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("sha256:zz", "DIGEST_INVALID")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", "DIGEST_INVALID")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "DIGEST_INVALID")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e", "UNSUPPORTED")]
    [InlineData("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709", "UNSUPPORTED")]
    [InlineData("foo.bar:xyz", "UNSUPPORTED")]
    [InlineData("sha256:..%2F..%2F..%2F..%2Fetc%2Fpasswd", "DIGEST_INVALID")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855%00", "DIGEST_INVALID")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855%0a", "DIGEST_INVALID")]
    public async Task Rows05To08_BadDigestOnUploadPut_Is400(string digest, string code)
    {
        var repo = RegistryFixture.NewRepository();
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var put = await registry.Client.PutAsync(start.Headers.Location + "?digest=" + digest, OciTestClient.Octets([]));
        await OciTestClient.AssertErrorAsync(put, HttpStatusCode.BadRequest, code);
    }

    [Theory]
    [InlineData("sha256:zz")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:..%2F..%2Fetc%2Fpasswd")]
    public async Task Rows05To08_BadDigestOnBlobAndManifestReads_Is400Or404(string digest)
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "x");
        var blob = await registry.Client.GetAsync($"/v2/{repo}/blobs/{digest}");
        Assert.True(blob.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, blob.StatusCode.ToString());
        var manifest = await registry.Client.GetAsync($"/v2/{repo}/manifests/{digest}");
        Assert.True(manifest.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, manifest.StatusCode.ToString());
    }

    [Fact]
    public async Task Row06_UppercaseDigest_NeverAliasesTheLowercaseBlob()
    {
        var repo = RegistryFixture.NewRepository();
        var digest = await _oci.PushBlobAsync(repo, OciTestClient.RandomBytes(10));
        var upper = "sha256:" + digest[7..].ToUpperInvariant();
        var response = await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{upper}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
