using System.Net;
using System.Text.Json;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Auth;

/// <summary>docs/reliability.md rows 45 and 49–52 with authentication on.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class ProtectedRouteTests(RegistryFixture registry)
{
    private readonly OciTestClient _owner = new(registry.Client);

    [Fact]
    public async Task Row49_BlobThatExistsOnlyInAnotherRepository_Is404BlobUnknown()
    {
        var privateRepo = RegistryFixture.NewRepository();
        var digest = await _owner.PushBlobAsync(privateRepo, OciTestClient.RandomBytes(100));
        var other = RegistryFixture.NewRepository();
        await _owner.PushImageAsync(other, "x");
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync($"/v2/{other}/blobs/{digest}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        Assert.Equal(HttpStatusCode.NotFound, (await _owner.SendAsync(HttpMethod.Head, $"/v2/{other}/blobs/{digest}")).StatusCode);
    }

    [Theory]
    [InlineData("/v2/_catalog/")]
    [InlineData("//v2/_catalog")]
    [InlineData("/v2/./_catalog")]
    [InlineData("/V2/_catalog")]
    [InlineData("/v2/{repo}/manifests/v1")]
    [InlineData("//v2/{repo}/manifests/v1")]
    [InlineData("/v2/./{repo}/manifests/v1")]
    [InlineData("/V2/{repo}/manifests/v1")]
    [InlineData("/v2/{repo}/MANIFESTS/v1")]
    [InlineData("/v2/{encodedRepo}/manifests/v1")]
    public async Task Row50_PathVariantsOfProtectedRoutes_AreAuthorizedLikeTheCanonicalRoute_Or404(string template)
    {
        var repo = RegistryFixture.NewRepository();
        await _owner.PushImageAsync(repo, "v1");
        var path = template.Replace("{repo}", repo, StringComparison.Ordinal).Replace("{encodedRepo}", repo.Replace("/", "%2F", StringComparison.Ordinal), StringComparison.Ordinal);
        var (status, text) = await RawHttp.SendAsync(registry.BaseAddress, $"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.True(status is 401 or 404 or 400, $"{path} answered {status} to an anonymous caller: {text}");
        Assert.DoesNotContain("schemaVersion", text, StringComparison.Ordinal);
        Assert.DoesNotContain("repositories", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Row51_SpoofedHostAndForwardedHeaders_NeverReachTheRealmOrLocations()
    {
        var repo = RegistryFixture.NewRepository();
        using var anonymous = new HttpRequestMessage(HttpMethod.Get, "/v2/");
        anonymous.Headers.Host = "evil.example";
        anonymous.Headers.Add("X-Forwarded-Host", "evil.example");
        anonymous.Headers.Add("X-Forwarded-Proto", "https");
        var challenge = (await registry.Anonymous.SendAsync(anonymous)).Headers.WwwAuthenticate.ToString();
        Assert.Contains($"realm=\"{new Uri(registry.BaseAddress, "/oauth2/token")}\"", challenge, StringComparison.Ordinal);
        Assert.DoesNotContain("evil", challenge, StringComparison.Ordinal);

        using var start = new HttpRequestMessage(HttpMethod.Post, $"/v2/{repo}/blobs/uploads/");
        start.Headers.Host = "evil.example";
        start.Headers.Add("X-Forwarded-Host", "evil.example");
        var response = await registry.Client.SendAsync(start);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.StartsWith($"/v2/{repo}/blobs/uploads/", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Row52_TokenRequests_CatalogForNonOwnersIsDropped_MalformedOrTooManyScopesAre400()
    {
        var catalogOnly = await registry.Anonymous.GetAsync("/oauth2/token?service=registry&scope=registry:catalog:*");
        Assert.Equal(HttpStatusCode.OK, catalogOnly.StatusCode);
        var token = JsonDocument.Parse(await catalogOnly.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        var payload = JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(token.Split('.')[1])).RootElement;
        Assert.Equal(0, payload.GetProperty("access").GetArrayLength());

        await AssertInvalidScopeAsync(await registry.Anonymous.GetAsync("/oauth2/token?service=registry&scope=nonsense"));
        var many = string.Concat(Enumerable.Range(0, 1000).Select(i => $"&scope=repository:r{i}:pull"));
        var (status, _) = await RawHttp.SendAsync(registry.BaseAddress, $"GET /oauth2/token?service=registry{many} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.True(status is 400 or 414, $"status {status}");
        var forty = string.Concat(Enumerable.Range(0, 40).Select(i => $"&scope=repository:r{i}:pull"));
        await AssertInvalidScopeAsync(await registry.Anonymous.GetAsync($"/oauth2/token?service=registry{forty}"));
    }

    /// <summary>The token endpoint answers a bad scope as OAuth2 does (RFC 6749 section 5.2).</summary>
    private static async Task AssertInvalidScopeAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_scope", body.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Row45_OneMegabyteAuthorizationHeader_OrADotFloodedToken_IsRefusedQuickly()
    {
        var repo = RegistryFixture.NewRepository();
        var (huge, _) = await RawHttp.SendAsync(registry.BaseAddress,
            $"GET /v2/{repo}/manifests/v1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {new string('a', 1024 * 1024)}\r\nConnection: close\r\n\r\n");
        Assert.True(huge is 400 or 401 or 431 or null, $"status {huge}");
        using var dots = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/manifests/v1");
        dots.Headers.TryAddWithoutValidation("Authorization", "Bearer " + new string('.', 100_000));
        var response = await registry.Anonymous.SendAsync(dots);
        Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.RequestHeaderFieldsTooLarge or HttpStatusCode.BadRequest, response.StatusCode.ToString());
        Assert.Equal(HttpStatusCode.OK, (await registry.Client.GetAsync("/v2/")).StatusCode);
    }
}
