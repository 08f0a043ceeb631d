using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Auth;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Lifecycle;

/// <summary>
/// RELIABILITY row 47: a create-only principal (scope action <c>create</c>) pushes content and creates tags, and is
/// refused with 403 DENIED every overwrite of an existing tag, by path (<c>latest</c> included) and through
/// <c>PUT /manifests/&lt;digest&gt;?tag=&lt;existing&gt;</c>; a token with push moves the same tags. Also the
/// <c>?tag=</c> form itself: several tags in one PUT by digest, each answered with an <c>OCI-Tag</c> header.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class CreateOnlyTagTests(RegistryFixture registry)
{
    private readonly OciTestClient _owner = new(registry.Client);

    /// <summary>A registry token with <paramref name="actions"/> on <paramref name="repo"/>, and a client with the access token docker would get for push.</summary>
    private async Task<OciTestClient> ClientWithAsync(string repo, params string[] actions)
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..12];
        await registry.Services.GetRequiredService<RegistryTokens>().SaveAsync(
            new RegistryToken(name, [PasswordHasher.Hash("pw-" + name)], [new AccessRule(repo, actions)], true, null), CancellationToken.None);
        using var request = new HttpRequestMessage(HttpMethod.Get,
            $"/oauth2/token?service=registry&client_id=docker&scope={Uri.EscapeDataString($"repository:{repo}:pull,push")}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{name}:pw-{name}")));
        var response = await registry.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var token = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        return new OciTestClient(new HttpClient(new BearerHeader(token)) { BaseAddress = registry.BaseAddress });
    }

    private static async Task<byte[]> ManifestWithBlobsAsync(OciTestClient client, string repo)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"{Guid.NewGuid()}\"}}");
        var layer = OciTestClient.RandomBytes(700);
        await client.PushBlobAsync(repo, config);
        await client.PushBlobAsync(repo, layer);
        return OciTestClient.ImageManifest(config, [layer]);
    }

    private async Task<string?> TagDigestAsync(string repo, string tag)
    {
        var head = await _owner.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/{tag}", configure: r => r.Headers.Accept.ParseAdd(OciTestClient.OciManifest));
        return head.StatusCode == HttpStatusCode.OK ? head.Headers.GetValues("Docker-Content-Digest").Single() : null;
    }

    private static async Task AssertCreateOnlyAsync(HttpResponseMessage response, string tag)
    {
        var body = await response.Content.ReadAsStringAsync();
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        using var json = JsonDocument.Parse(body);
        var detail = json.RootElement.GetProperty("errors")[0].GetProperty("detail").GetString()!;
        Assert.Contains($"tag {tag} of", detail, StringComparison.Ordinal);
        Assert.Contains("may only create tags", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateOnlyPrincipal_CreatesTags_AndIsRefusedEveryOverwrite_ByPathAndByDigestWithTag()
    {
        var repo = RegistryFixture.NewRepository("create");
        var creator = await ClientWithAsync(repo, Actions.Pull, Actions.Create);
        var first = await ManifestWithBlobsAsync(creator, repo);
        var second = await ManifestWithBlobsAsync(creator, repo);
        var (firstDigest, secondDigest) = (OciTestClient.DigestOf(first), OciTestClient.DigestOf(second));

        Assert.Equal(HttpStatusCode.Created, (await creator.PutManifestAsync(repo, "v1", first)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await creator.PutManifestAsync(repo, "latest", first)).StatusCode);
        // Pushing what a tag already points at moves nothing, and passes.
        Assert.Equal(HttpStatusCode.Created, (await creator.PutManifestAsync(repo, "v1", first)).StatusCode);

        await AssertCreateOnlyAsync(await creator.PutManifestAsync(repo, "v1", second), "v1");
        await AssertCreateOnlyAsync(await creator.PutManifestAsync(repo, "latest", second), "latest");
        await AssertCreateOnlyAsync(await creator.PutManifestAsync(repo, $"{secondDigest}?tag=latest", second), "latest");
        Assert.Equal(firstDigest, await TagDigestAsync(repo, "v1"));
        Assert.Equal(firstDigest, await TagDigestAsync(repo, "latest"));

        // A new tag through the digest form is a creation.
        var created = await creator.PutManifestAsync(repo, $"{secondDigest}?tag=v2", second);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(["v2"], created.Headers.GetValues("OCI-Tag"));
        Assert.Equal(secondDigest, await TagDigestAsync(repo, "v2"));
        // Nor may it delete what it created.
        Assert.Equal(HttpStatusCode.Unauthorized, (await creator.Http.DeleteAsync($"/v2/{repo}/manifests/v1")).StatusCode);

        // A token with push moves the same tags.
        var pusher = await ClientWithAsync(repo, Actions.Pull, Actions.Push);
        Assert.Equal(HttpStatusCode.Created, (await pusher.PutManifestAsync(repo, "latest", second)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await pusher.PutManifestAsync(repo, $"{secondDigest}?tag=v1", second)).StatusCode);
        Assert.Equal(secondDigest, await TagDigestAsync(repo, "latest"));
        Assert.Equal(secondDigest, await TagDigestAsync(repo, "v1"));
    }

    [Fact]
    public async Task PutByDigest_WithSeveralTags_PointsEachAtIt_AndMalformedTagsAre400()
    {
        var repo = RegistryFixture.NewRepository("create");
        var manifest = await ManifestWithBlobsAsync(_owner, repo);
        var digest = OciTestClient.DigestOf(manifest);

        var put = await _owner.PutManifestAsync(repo, $"{digest}?tag=a&tag=b&tag=a", manifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(["a", "b"], put.Headers.GetValues("OCI-Tag"));
        Assert.Equal(digest, await TagDigestAsync(repo, "a"));
        Assert.Equal(digest, await TagDigestAsync(repo, "b"));

        await OciTestClient.AssertErrorAsync(await _owner.PutManifestAsync(repo, $"{digest}?tag=no%21", manifest), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        await OciTestClient.AssertErrorAsync(await _owner.PutManifestAsync(repo, "c?tag=d", manifest), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        var many = string.Join('&', Enumerable.Range(0, 11).Select(i => $"tag=t{i}"));
        await OciTestClient.AssertErrorAsync(await _owner.PutManifestAsync(repo, $"{digest}?{many}", manifest), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        Assert.Null(await TagDigestAsync(repo, "d"));
        Assert.Null(await TagDigestAsync(repo, "t0"));
    }
}
