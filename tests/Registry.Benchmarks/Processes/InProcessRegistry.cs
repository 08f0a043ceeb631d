using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Registry.Host;
using Registry.Startup;

namespace Registry.Benchmarks.Processes;

/// <summary>
/// Our registry hosted in this process (RegistryHost.Build, as Program.cs builds it) on a real loopback socket, with
/// a storage pipeline policy of the harness's and a clock of its choice. Only the storage-call counts use it: speed,
/// CPU and memory are measured on a process of its own.
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

    /// <param name="storagePrefix">Names the container and tables, so the counts start from an empty registry.</param>
    public static async Task<InProcessRegistry> StartAsync(
        Azurite storage, string storagePrefix, HttpPipelinePolicy policy, TimeProvider clock, CancellationToken cancellationToken)
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
            $"--Auth:AdminName={OurRegistryProcess.Owner.User}",
            $"--Auth:AdminPassword={OurRegistryProcess.Owner.Password}",
            "--Logging:LogLevel:Default=Warning",
            // The audit log is written in batches by a background writer every 250 ms, whatever request happens to be
            // counted then; the counts are per request, so it stays off here (one Table call per up to 1,000 records).
            "--Audit:Enabled=false",
            // Nor may the scheduled jobs add calls to a request's count.
            "--Jobs:InProcess=false",
        ], builder =>
        {
            builder.Services.AddSingleton(policy);
            builder.Services.AddSingleton(clock);
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
