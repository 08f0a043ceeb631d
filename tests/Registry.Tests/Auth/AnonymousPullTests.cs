using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Registry.Host;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Auth;

/// <summary>An owner marks <c>public/*</c> anonymous-pull: anyone pulls there, nobody pushes without credentials.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class AnonymousPullTests(RegistryFixture registry) : IAsyncLifetime
{
    private WebApplication? _app;
    private HttpClient _anonymous = null!;
    private HttpClient _owner = null!;

    public async Task InitializeAsync()
    {
        _app = RegistryHost.Build(
        [
            "--Registry:Port=0", $"--Storage:ConnectionString={registry.Storage.ConnectionString}", "--Logging:LogLevel:Default=None",
            $"--Auth:AdminPassword={RegistryFixture.AdminPassword}", "--Auth:AnonymousPull:0=public/*",
        ]);
        await _app.StartAsync();
        var address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        _anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = address };
        _owner = new HttpClient(new BearerTokenHandler(address, RegistryFixture.AdminName, RegistryFixture.AdminPassword, followRedirects: false)) { BaseAddress = address };
    }

    public async Task DisposeAsync()
    {
        _anonymous.Dispose();
        _owner.Dispose();
        await _app!.StopAsync();
        await _app.DisposeAsync();
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
}
