using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Registry.Host;
using Registry.Startup;

namespace Registry.Tests.Fixtures;

/// <summary>
/// A second registry instance, in this process, on the shared fixture's Azurite, with settings of its own (anonymous
/// pull, Entra, fault injection...). Its owner password is the fixture's, since both write the same owner token.
/// </summary>
public sealed class ExtraRegistry : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private ExtraRegistry(WebApplication app, Uri address)
    {
        _app = app;
        BaseAddress = address;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="waitForStorage">
    /// Return only once its storage preparation is done (false: at once, while it may still be running or failing).
    /// </param>
    public static async Task<ExtraRegistry> StartAsync(
        Azurite storage, string[] settings, Action<WebApplicationBuilder>? configure = null, bool waitForStorage = true)
    {
        var app = RegistryHost.Build(
        [
            "--Registry:Port=0", $"--Storage:ConnectionString={storage.ConnectionString}", "--Logging:LogLevel:Default=None",
            $"--Auth:AdminPassword={RegistryFixture.AdminPassword}", .. settings,
        ], configure);
        await app.StartAsync();
        if (waitForStorage)
        {
            await app.Services.GetRequiredService<StartupPreparation>().EnsureAsync(CancellationToken.None);
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ExtraRegistry(app, new Uri(address));
    }

    /// <summary>A client holding the owner's credentials (Bearer tokens fetched as docker does).</summary>
    public HttpClient OwnerClient() =>
        new(new BearerTokenHandler(BaseAddress, RegistryFixture.AdminName, RegistryFixture.AdminPassword, followRedirects: false)) { BaseAddress = BaseAddress };

    /// <summary>A client with no credentials.</summary>
    public HttpClient AnonymousClient() => new(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = BaseAddress };

    /// <summary>Stops the instance; once (a test that stopped it early is disposed again at its end).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
