using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Registry.Host;
using Registry.Startup;

namespace Registry.Tests.Fixtures;

/// <summary>
/// One Azurite and one registry (in this process, on a real Kestrel socket) for the whole run. Tests keep out of
/// each other's way by using their own repository names (<see cref="NewRepository"/>).
/// </summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public Azurite Storage { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>A client that does not follow redirects, so tests see the registry's own answers.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>A client that follows redirects, as docker does for blob pulls.</summary>
    public HttpClient FollowingClient { get; private set; } = null!;

    /// <summary>A client with no credentials at all.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    public const string AdminName = "admin";

    public const string AdminPassword = "test-owner-password";

    /// <summary>An Authorization header line for raw requests: the owner's Basic credentials.</summary>
    public static string Authorization =>
        $"Authorization: Basic {Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{AdminName}:{AdminPassword}"))}\r\n";

    public async Task InitializeAsync()
    {
        Storage = await Azurite.StartAsync();
        _app = RegistryHost.Build(
        [
            "--Registry:Port=0",
            $"--Storage:ConnectionString={Storage.ConnectionString}",
            "--Logging:LogLevel:Default=Warning",
            $"--Auth:AdminPassword={AdminPassword}",
        ]);
        await _app.StartAsync();
        // Tests also reach storage through the services directly: its tables must exist first.
        await _app.Services.GetRequiredService<StartupPreparation>().EnsureAsync(CancellationToken.None);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Client = new HttpClient(new BearerTokenHandler(BaseAddress, AdminName, AdminPassword, followRedirects: false)) { BaseAddress = BaseAddress };
        FollowingClient = new HttpClient(new BearerTokenHandler(BaseAddress, AdminName, AdminPassword, followRedirects: true)) { BaseAddress = BaseAddress };
        Anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = BaseAddress };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        FollowingClient.Dispose();
        Anonymous.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        await Storage.DisposeAsync();
    }

    /// <summary>A repository name no other test uses.</summary>
    public static string NewRepository(string prefix = "test") => $"{prefix}/r{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 14, 60)];
}

[CollectionDefinition(Name)]
public sealed class RegistryTestGroup : ICollectionFixture<RegistryFixture>
{
    public const string Name = "registry";
}
