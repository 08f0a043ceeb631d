using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Auth;

/// <summary>An owner marks <c>public/*</c> anonymous-pull: anyone pulls there, nobody pushes without credentials.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class AnonymousPullTests(RegistryFixture registry) : IAsyncLifetime
{
    private ExtraRegistry? _registry;
    private HttpClient _anonymous = null!;
    private HttpClient _owner = null!;

    public async Task InitializeAsync()
    {
        _registry = await ExtraRegistry.StartAsync(registry.Storage, ["--Auth:AnonymousPull:0=public/*"]);
        _anonymous = _registry.AnonymousClient();
        _owner = _registry.OwnerClient();
    }

    public async Task DisposeAsync()
    {
        _anonymous.Dispose();
        _owner.Dispose();
        await _registry!.DisposeAsync();
    }

    [Fact]
    public async Task PublicRepository_PullsAnonymously_ButRefusesAnonymousPushes()
    {
        var repo = "public/" + Guid.NewGuid().ToString("N")[..10];
        var manifest = await new OciTestClient(_owner).PushImageAsync(repo, "1");
        var pulled = await _anonymous.GetAsync($"/v2/{repo}/manifests/1");
        Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
        Assert.Equal(manifest, await pulled.Content.ReadAsByteArrayAsync());
        await OciTestClient.AssertErrorAsync(await _anonymous.PostAsync($"/v2/{repo}/blobs/uploads/", null), HttpStatusCode.Unauthorized, "UNAUTHORIZED");

        var privateRepo = RegistryFixture.NewRepository();
        await new OciTestClient(_owner).PushImageAsync(privateRepo, "1");
        await OciTestClient.AssertErrorAsync(await _anonymous.GetAsync($"/v2/{privateRepo}/manifests/1"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task PatternStoredInTable_AsTheAdminCliWritesIt_OpensAnonymousPull()
    {
        var prefix = "open" + Guid.NewGuid().ToString("N")[..8];
        await using var fresh = await ExtraRegistry.StartAsync(registry.Storage, []);
        await fresh.Services.GetRequiredService<Registry.Auth.AnonymousPullRules>().AddAsync(prefix + "/*", CancellationToken.None);
        using var owner = fresh.OwnerClient();
        using var anonymous = fresh.AnonymousClient();
        var repo = prefix + "/app";
        await new OciTestClient(owner).PushImageAsync(repo, "1");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"/v2/{repo}/manifests/1")).StatusCode);
        var token = await anonymous.GetStringAsync($"/oauth2/token?service=registry&scope=repository:{repo}:pull,push");
        Assert.Contains("\"pull\"", System.Text.Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(
            System.Text.Json.JsonDocument.Parse(token).RootElement.GetProperty("token").GetString()!.Split('.')[1])), StringComparison.Ordinal);
    }
}
