using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Auth;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Auth;

/// <summary>Docker token authentication end to end, and docs/reliability.md rows 20, 35 and 39–41 with auth on.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class TokenFlowTests(RegistryFixture registry)
{
    private readonly OciTestClient _owner = new(registry.Client);

    private async Task<string> CreateTokenAsync(params AccessRule[] rules)
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..12];
        await registry.Services.GetRequiredService<RegistryTokens>().SaveAsync(
            new RegistryToken(name, [PasswordHasher.Hash("pw-" + name)], rules, true, null), CancellationToken.None);
        return name;
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    /// <summary>GET /oauth2/token as docker sends it; returns the JSON answer.</summary>
    private async Task<JsonElement> TokenAsync(string? user, params string[] scopes)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get,
            "/oauth2/token?service=registry&client_id=docker&offline_token=true" + string.Concat(scopes.Select(s => "&scope=" + Uri.EscapeDataString(s))));
        if (user is not null)
        {
            request.Headers.Authorization = Basic(user, "pw-" + user);
        }
        var response = await registry.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private async Task<HttpResponseMessage> WithBearerAsync(HttpMethod method, string path, string token)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await registry.Anonymous.SendAsync(request);
    }

    [Fact]
    public async Task V2_Anonymous_Is401WithTheBearerChallenge_AndWithCredentials200()
    {
        var anonymous = await registry.Anonymous.GetAsync("/v2/");
        await OciTestClient.AssertErrorAsync(anonymous, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal($"Bearer realm=\"{new Uri(registry.BaseAddress, "/oauth2/token")}\",service=\"registry\"", anonymous.Headers.WwwAuthenticate.ToString());
        var anonymousToken = (await TokenAsync(null)).GetProperty("token").GetString()!;
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithBearerAsync(HttpMethod.Get, "/v2/", anonymousToken)).StatusCode); // no login
        using var basic = new HttpRequestMessage(HttpMethod.Get, "/v2/");
        basic.Headers.Authorization = Basic(RegistryFixture.AdminName, RegistryFixture.AdminPassword);
        Assert.Equal(HttpStatusCode.OK, (await registry.Anonymous.SendAsync(basic)).StatusCode);
    }

    [Fact]
    public async Task Row39_AnonymousAnswers_ForAnExistingPrivateRepository_AndAMissingOne_AreIdentical()
    {
        var existing = RegistryFixture.NewRepository();
        await _owner.PushImageAsync(existing, "v1");
        var missing = RegistryFixture.NewRepository();
        var a = await registry.Anonymous.GetAsync($"/v2/{existing}/manifests/v1");
        var b = await registry.Anonymous.GetAsync($"/v2/{missing}/manifests/v1");
        Assert.Equal(HttpStatusCode.Unauthorized, a.StatusCode);
        Assert.Equal(a.StatusCode, b.StatusCode);
        Assert.Equal(
            a.Headers.WwwAuthenticate.ToString().Replace(existing, "X", StringComparison.Ordinal),
            b.Headers.WwwAuthenticate.ToString().Replace(missing, "X", StringComparison.Ordinal));
        // Bodies differ only in the repository name and each request's own correlation id.
        static async Task<string> BodyAsync(HttpResponseMessage response, string name) =>
            (await response.Content.ReadAsStringAsync())
                .Replace(name, "X", StringComparison.Ordinal)
                .Replace(response.Headers.GetValues("X-Correlation-Id").Single(), "ID", StringComparison.Ordinal);
        Assert.Equal(await BodyAsync(a, existing), await BodyAsync(b, missing));
    }

    [Fact]
    public async Task ScopedToken_PushesAndPullsInsideItsPattern_AndIsRefusedOutside()
    {
        var repo = "app" + Guid.NewGuid().ToString("N")[..8] + "/svc";
        var ci = await CreateTokenAsync(new AccessRule(repo.Split('/')[0] + "/*", [Actions.Pull, Actions.Push]));
        var inside = await TokenAsync(ci, $"repository:{repo}:pull,push");
        var granted = inside.GetProperty("token").GetString()!;
        Assert.True(inside.TryGetProperty("refresh_token", out _));
        var client = new OciTestClient(new HttpClient(new BearerHeader(granted)) { BaseAddress = registry.BaseAddress });
        await client.PushImageAsync(repo, "1.0");

        // Row 40: the same token on another repository gets 401 insufficient_scope for that repository, and no data.
        var other = RegistryFixture.NewRepository();
        await _owner.PushImageAsync(other, "secret");
        var refused = await WithBearerAsync(HttpMethod.Get, $"/v2/{other}/manifests/secret", granted);
        await OciTestClient.AssertErrorAsync(refused, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var challenge = refused.Headers.WwwAuthenticate.ToString();
        Assert.Contains($"scope=\"repository:{other}:pull\"", challenge, StringComparison.Ordinal);
        Assert.Contains("error=\"insufficient_scope\"", challenge, StringComparison.Ordinal);

        // Asking the token endpoint for a repository outside the pattern grants nothing.
        var outside = await TokenAsync(ci, $"repository:{other}:pull");
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithBearerAsync(HttpMethod.Get, $"/v2/{other}/manifests/secret", outside.GetProperty("token").GetString()!)).StatusCode);
    }

    [Fact]
    public async Task Row41_PullOnlyToken_CannotWrite_AndGetsNoUploadSession()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _owner.PushImageAsync(repo, "v1");
        var reader = await CreateTokenAsync(new AccessRule(repo, [Actions.Pull]));
        var token = (await TokenAsync(reader, $"repository:{repo}:pull,push,delete")).GetProperty("token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await WithBearerAsync(HttpMethod.Get, $"/v2/{repo}/manifests/v1", token)).StatusCode);
        foreach (var (method, path) in new[]
                 {
                     (HttpMethod.Post, $"/v2/{repo}/blobs/uploads/"),
                     (HttpMethod.Put, $"/v2/{repo}/manifests/v2"),
                     (HttpMethod.Delete, $"/v2/{repo}/manifests/v1"),
                     (HttpMethod.Delete, $"/v2/{repo}/blobs/{OciTestClient.DigestOf(manifest)}"),
                 })
        {
            var response = await WithBearerAsync(method, path, token);
            await OciTestClient.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
            Assert.Contains("insufficient_scope", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            Assert.Null(response.Headers.Location);
        }
        Assert.Equal(HttpStatusCode.OK, (await registry.Client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
    }

    [Fact]
    public async Task Row20_MountFromARepositoryTheCallerCannotPull_IsA202Session_NeverALink()
    {
        var secret = RegistryFixture.NewRepository();
        var digest = await _owner.PushBlobAsync(secret, OciTestClient.RandomBytes(64));
        var target = RegistryFixture.NewRepository();
        var pusher = await CreateTokenAsync(new AccessRule(target, [Actions.Pull, Actions.Push]));
        var token = (await TokenAsync(pusher, $"repository:{target}:pull,push", $"repository:{secret}:pull")).GetProperty("token").GetString()!;
        var response = await WithBearerAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={digest}&from={secret}", token);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await WithBearerAsync(HttpMethod.Head, $"/v2/{target}/blobs/{digest}", token)).StatusCode);
    }

    [Fact]
    public async Task RefreshToken_IssuesNewAccess_UntilTheRegistryTokenIsDisabled_WithinTheTokenStateTime()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var instance = await ExtraRegistry.StartAsync(registry.Storage, [], builder => builder.Services.AddSingleton<TimeProvider>(clock));
        using var anonymous = instance.AnonymousClient();
        var repo = RegistryFixture.NewRepository();
        var name = await CreateTokenAsync(new AccessRule(repo, [Actions.Pull]));
        var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = name, ["password"] = "pw-" + name, ["service"] = "registry",
            ["scope"] = $"repository:{repo}:pull", ["client_id"] = "containerd", ["access_type"] = "offline",
        });
        var first = await anonymous.PostAsync("/oauth2/token", form);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var refresh = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("refresh_token").GetString()!;

        // podman sends its POST parameters in the query string.
        var refreshPath = $"/oauth2/token?grant_type=refresh_token&service=registry&refresh_token={refresh}&scope=repository:{repo}:pull";
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsync(refreshPath, null)).StatusCode);

        // Disabled elsewhere (the admin CLI writes storage directly): this instance may trust what it read for 5 s.
        var tokens = registry.Services.GetRequiredService<RegistryTokens>();
        var token = (await tokens.FindAsync(name, CancellationToken.None))!;
        await tokens.SaveAsync(token with { Enabled = false }, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(5));
        await OciTestClient.AssertErrorAsync(await anonymous.PostAsync(refreshPath, null), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        using var basic = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry");
        basic.Headers.Authorization = Basic(name, "pw-" + name);
        await OciTestClient.AssertErrorAsync(await anonymous.SendAsync(basic), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task TokenIssuedByOneInstance_IsAcceptedByAnotherOnTheSameStorage()
    {
        await using var other = await ExtraRegistry.StartAsync(registry.Storage, []);
        var repo = RegistryFixture.NewRepository();
        await _owner.PushImageAsync(repo, "v1");
        var name = await CreateTokenAsync(new AccessRule(repo, [Actions.Pull]));
        var issued = (await TokenAsync(name, $"repository:{repo}:pull")).GetProperty("token").GetString();

        using var client = other.AnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/manifests/v1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", issued);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task DisablingAToken_StopsItsAlreadyIssuedAccessTokens()
    {
        await using var instant = await ExtraRegistry.StartAsync(registry.Storage, ["--Auth:TokenStateCache=00:00:00"]);
        using var client = instant.AnonymousClient();
        var repo = RegistryFixture.NewRepository();
        await new OciTestClient(registry.Client).PushImageAsync(repo, "v1");
        var name = await CreateTokenAsync(new AccessRule(repo, [Actions.Pull]));
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Get, $"/oauth2/token?service=registry&scope=repository:{repo}:pull");
        tokenRequest.Headers.Authorization = Basic(name, "pw-" + name);
        var issued = JsonDocument.Parse(await (await client.SendAsync(tokenRequest)).Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;

        async Task<HttpStatusCode> PullAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/manifests/v1");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", issued);
            return (await client.SendAsync(request)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await PullAsync());
        var tokens = registry.Services.GetRequiredService<RegistryTokens>();
        await tokens.SaveAsync((await tokens.FindAsync(name, CancellationToken.None))! with { Enabled = false }, CancellationToken.None);
        Assert.Equal(HttpStatusCode.Unauthorized, await PullAsync());
    }

    [Fact]
    public async Task MetadataReadToken_ListsTagsAndReferrers_ButCannotPullContent()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _owner.PushImageAsync(repo, "v1");
        var lister = await CreateTokenAsync(new AccessRule(repo, [Actions.MetadataRead]));
        var token = (await TokenAsync(lister, $"repository:{repo}:pull,metadata-read")).GetProperty("token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await WithBearerAsync(HttpMethod.Get, $"/v2/{repo}/tags/list", token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await WithBearerAsync(HttpMethod.Get, $"/v2/{repo}/referrers/{OciTestClient.DigestOf(manifest)}", token)).StatusCode);
        var pull = await WithBearerAsync(HttpMethod.Get, $"/v2/{repo}/manifests/v1", token);
        Assert.Equal(HttpStatusCode.Unauthorized, pull.StatusCode);
        Assert.Contains($"scope=\"repository:{repo}:pull\"", pull.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OwnerWithoutAConfiguredPassword_GetsOneGeneratedAtFirstStart_ShownOnlyThen()
    {
        var tokens = registry.Services.GetRequiredService<RegistryTokens>();
        var owner = "owner" + Guid.NewGuid().ToString("N")[..8];
        var generated = await tokens.EnsureOwnerAsync(owner, null, CancellationToken.None);
        Assert.False(string.IsNullOrEmpty(generated));
        Assert.Null(await tokens.EnsureOwnerAsync(owner, null, CancellationToken.None));
        var token = await tokens.VerifyAsync(owner, generated, CancellationToken.None);
        Assert.NotNull(token);
        Assert.Contains(token.Rules, r => r.Pattern == "*" && r.Actions.Contains(Actions.All));
        // A configured password replaces a lost one.
        Assert.Null(await tokens.EnsureOwnerAsync(owner, "chosen", CancellationToken.None));
        Assert.NotNull(await tokens.VerifyAsync(owner, "chosen", CancellationToken.None));
        Assert.Null(await tokens.VerifyAsync(owner, generated, CancellationToken.None));
    }

    [Fact]
    public async Task SecondPassword_WorksAlongsideTheFirst_ForRotation()
    {
        var name = "rot" + Guid.NewGuid().ToString("N")[..8];
        var tokens = registry.Services.GetRequiredService<RegistryTokens>();
        await tokens.SaveAsync(new RegistryToken(name, [PasswordHasher.Hash("old"), PasswordHasher.Hash("new")], [], true, null), CancellationToken.None);
        Assert.NotNull(await tokens.VerifyAsync(name, "old", CancellationToken.None));
        Assert.NotNull(await tokens.VerifyAsync(name, "new", CancellationToken.None));
        Assert.Null(await tokens.VerifyAsync(name, "neither", CancellationToken.None));
        await tokens.SaveAsync(new RegistryToken(name, [PasswordHasher.Hash("new")], [], true, DateTimeOffset.UtcNow.AddMinutes(-1)), CancellationToken.None);
        Assert.Null(await tokens.VerifyAsync(name, "new", CancellationToken.None));
    }

    [Fact]
    public async Task Catalog_Anonymous_Is401_AndAScopedTokenSeesOnlyItsRepositories()
    {
        await OciTestClient.AssertErrorAsync(await registry.Anonymous.GetAsync("/v2/_catalog"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var mine = "cat" + Guid.NewGuid().ToString("N")[..8] + "/mine";
        await _owner.PushImageAsync(mine, "1");
        await _owner.PushImageAsync(RegistryFixture.NewRepository(), "1");
        var name = await CreateTokenAsync(new AccessRule(mine, [Actions.Pull]));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/_catalog");
        request.Headers.Authorization = Basic(name, "pw-" + name);
        var response = await registry.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal([mine], doc.RootElement.GetProperty("repositories").EnumerateArray().Select(e => e.GetString()));
    }
}
