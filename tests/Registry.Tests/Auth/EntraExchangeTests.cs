using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Auth;

/// <summary>
/// Entra ID sign-in against a local OpenID metadata endpoint with keys this test generates; the validation code is the
/// registry's own. Exchange an Entra token for a registry refresh token, then use it the way docker does.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class EntraExchangeTests(RegistryFixture registry) : IAsyncLifetime
{
    private const string Audience = "api://registry-tests";
    private readonly RSA _tenantKey = RSA.Create(2048);
    private WebApplication? _tenant;
    private ExtraRegistry? _registry;
    private HttpClient _client = null!;
    private string _issuer = "";

    public async Task InitializeAsync()
    {
        var tenantBuilder = WebApplication.CreateSlimBuilder();
        tenantBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        _tenant = tenantBuilder.Build();
        var parameters = _tenantKey.ExportParameters(false);
        _tenant.MapGet("/tenant/v2.0/.well-known/openid-configuration", (HttpContext c) =>
            Results.Text($$"""{"issuer":"{{_issuer}}","jwks_uri":"{{_issuer}}/keys"}""", "application/json"));
        _tenant.MapGet("/tenant/v2.0/keys", () => Results.Text(
            $$"""{"keys":[{"kty":"RSA","use":"sig","kid":"k1","n":"{{Base64UrlEncoder.Encode(parameters.Modulus)}}","e":"{{Base64UrlEncoder.Encode(parameters.Exponent)}}"}]}""",
            "application/json"));
        await _tenant.StartAsync();
        _issuer = _tenant.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/tenant/v2.0";

        _registry = await ExtraRegistry.StartAsync(registry.Storage,
        [
            $"--Auth:Entra:Authority={_issuer}", $"--Auth:Entra:Audience={Audience}", "--Auth:Entra:RequireHttpsMetadata=false",
            "--Auth:Entra:RoleRules:pushers:0=entra/*=pull,push",
        ]);
        _client = _registry.AnonymousClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _registry!.DisposeAsync();
        await _tenant!.StopAsync();
        await _tenant.DisposeAsync();
        _tenantKey.Dispose();
    }

    private string EntraToken(string audience, string[] roles, TimeSpan expiresIn, RSA? key = null)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _issuer,
            Audience = audience,
            IssuedAt = now.AddMinutes(-10),
            NotBefore = now.AddMinutes(-10),
            Expires = now + expiresIn,
            Claims = new Dictionary<string, object> { ["oid"] = "11111111-2222-3333-4444-555555555555", ["roles"] = roles.ToList<object>() },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key ?? _tenantKey) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256),
        });
    }

    private Task<HttpResponseMessage> ExchangeAsync(string entraToken) =>
        _client.PostAsync("/oauth2/exchange", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "access_token", ["service"] = "registry", ["access_token"] = entraToken,
        }));

    [Fact]
    public async Task EntraToken_ExchangedForARefreshToken_PushesWithinItsRoleRules_AndDockerStyleBasicWorks()
    {
        var exchanged = await ExchangeAsync(EntraToken(Audience, ["pushers"], TimeSpan.FromMinutes(30)));
        Assert.Equal(HttpStatusCode.OK, exchanged.StatusCode);
        var refresh = JsonDocument.Parse(await exchanged.Content.ReadAsStringAsync()).RootElement.GetProperty("refresh_token").GetString()!;

        var repo = "entra/" + Guid.NewGuid().ToString("N")[..10];
        var access = await _client.PostAsync("/oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token", ["service"] = "registry", ["refresh_token"] = refresh,
            ["scope"] = $"repository:{repo}:pull,push repository:other/x:pull",
        }));
        var token = JsonDocument.Parse(await access.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        var granted = JsonDocument.Parse(Base64UrlEncoder.Decode(token.Split('.')[1])).RootElement.GetProperty("access");
        Assert.Equal(repo, Assert.Single(granted.EnumerateArray()).GetProperty("name").GetString());

        using var pushClient = new HttpClient(new FixedBearer(token)) { BaseAddress = _client.BaseAddress };
        await new OciTestClient(pushClient).PushImageAsync(repo, "1");

        using var login = new HttpRequestMessage(HttpMethod.Get, "/v2/");
        login.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"00000000-0000-0000-0000-000000000000:{refresh}")));
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(login)).StatusCode);
    }

    [Fact]
    public async Task EntraTokens_ThatAreExpiredForeignlySignedForAnotherAudienceOrUnmapped_AreRefused()
    {
        using var stranger = RSA.Create(2048);
        foreach (var bad in new[]
                 {
                     EntraToken(Audience, ["pushers"], TimeSpan.FromMinutes(-5)),
                     EntraToken(Audience, ["pushers"], TimeSpan.FromMinutes(30), stranger),
                     EntraToken("api://someone-else", ["pushers"], TimeSpan.FromMinutes(30)),
                     EntraToken(Audience, ["readers-not-mapped"], TimeSpan.FromMinutes(30)),
                 })
        {
            await OciTestClient.AssertErrorAsync(await ExchangeAsync(bad), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }
    }

    private sealed class FixedBearer(string token) : DelegatingHandler(new HttpClientHandler { AllowAutoRedirect = false })
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = new("Bearer", token);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
