using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Host;
using Registry.Startup;
using Registry.Storage;
using Registry.Storage.Blobs;

namespace Registry.Benchmarks.Processes;

/// <summary>
/// Our registry hosted in this process (RegistryHost.Build, as Program.cs builds it) on a real loopback socket, with
/// a storage pipeline policy of the harness's and a clock of its choice. The storage-call counts and the garbage
/// collector's runs use it (only here can the harness move the registry's clock): speed, CPU and memory are measured
/// on a process of its own. Pull redirects are signed on the real clock, whatever the registry's, since storage checks
/// a SAS URL against its own.
/// </summary>
internal sealed class InProcessRegistry : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessRegistry(WebApplication app, Uri address)
    {
        _app = app;
        Target = new RegistryTarget("ours (in process)", address, Environment.ProcessId, OurRegistryProcess.Owner);
    }

    public RegistryTarget Target { get; }

    /// <summary>The registry's services, for what the harness runs without a request (a collection run).</summary>
    public IServiceProvider Services => _app.Services;

    /// <param name="storagePrefix">
    /// Names the container and tables, so the counts start from an empty registry; instances (and an
    /// <see cref="OurRegistryProcess"/>) started with the same prefix share them.
    /// </param>
    /// <param name="policy">Sees every storage call (a <see cref="Workloads.StorageCallCounter"/>); null for none.</param>
    /// <param name="settings">More command-line settings (<c>--Section:Key=value</c>), which win over the harness's.</param>
    public static async Task<InProcessRegistry> StartAsync(
        Azurite storage, string storagePrefix, HttpPipelinePolicy? policy, TimeProvider clock, CancellationToken cancellationToken,
        IReadOnlyList<string>? settings = null)
    {
        var app = RegistryHost.Build(
        [
            "--Registry:ListenAddress=127.0.0.1",
            "--Registry:Port=0",
            $"--Storage:ConnectionString={storage.ConnectionString}",
            $"--Storage:BlobContainer={storagePrefix}",
            $"--Storage:RepositoriesTable={storagePrefix}repositories",
            $"--Storage:BlobsTable={storagePrefix}blobs",
            $"--Storage:AuthTable={storagePrefix}auth",
            $"--Storage:AuditTable={storagePrefix}audit",
            $"--Storage:PoliciesTable={storagePrefix}policies",
            $"--Auth:AdminName={OurRegistryProcess.Owner.User}",
            $"--Auth:AdminPassword={OurRegistryProcess.Owner.Password}",
            "--Logging:LogLevel:Default=Warning",
            // The audit log is written in batches by a background writer every 250 ms, whatever request happens to be
            // counted then; the counts are per request, so it stays off here (one Table call per up to 1,000 records).
            "--Audit:Enabled=false",
            // Nor may the scheduled jobs add calls to a request's count.
            "--Jobs:InProcess=false",
            .. settings ?? [],
        ], builder =>
        {
            if (policy is not null)
            {
                builder.Services.AddSingleton(policy);
            }
            builder.Services.AddSingleton(clock);
            builder.Services.AddSingleton(services => new SasUrlIssuer(
                services.GetRequiredService<StorageClients>(), services.GetRequiredService<IOptions<StorageOptions>>(), TimeProvider.System));
        });
        try
        {
            await app.StartAsync(cancellationToken);
            // Prepared before counting: the counts are of requests, not of the start.
            await app.Services.GetRequiredService<StartupPreparation>().EnsureAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new InProcessRegistry(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
