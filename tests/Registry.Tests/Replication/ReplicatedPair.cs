using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Replication;

/// <summary>
/// A primary and a replica, each a registry instance with a storage account of its own. Both accounts live in one
/// Azurite: Azurite copies a blob from a URL only within one instance (Put Block From URL from another Azurite is refused
/// with CannotVerifyCopySource), and the server-side copy is the code path under test. The replica's storage calls, its
/// reads of the primary's included, pass its <see cref="Gate"/>.
/// </summary>
public sealed class ReplicatedPair : IAsyncDisposable
{
    public const string ReplicaAccount = "replica1";

    private ReplicatedPair(Azurite storage, ExtraRegistry primary, ExtraRegistry replica, StorageGate gate)
    {
        Storage = storage;
        Primary = primary;
        Replica = replica;
        Gate = gate;
    }

    public Azurite Storage { get; }

    public ExtraRegistry Primary { get; }

    public ExtraRegistry Replica { get; }

    public StorageGate Gate { get; }

    /// <param name="eventSecret">Set: the primary delivers its events to the replica's webhook endpoint, signed with it.</param>
    /// <param name="replicaPolicies">More storage pipeline policies of the replica's (after its gate).</param>
    /// <param name="bothSettings">Settings of both instances (a signing key they share, say).</param>
    public static async Task<ReplicatedPair> StartAsync(
        string? eventSecret = null, string[]? replicaSettings = null, string[]? bothSettings = null, params HttpPipelinePolicy[] replicaPolicies)
    {
        var storage = await Azurite.StartAsync(ReplicaAccount);
        var gate = new StorageGate();
        // The replica forwards writes to the primary, and the primary delivers events to the replica: the primary's
        // port is chosen first. Both sign tokens with one key, as every region of a deployment must.
        var primaryPort = FreePort();
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        string[] shared = [$"--Auth:SigningKeyPem={key.ExportPkcs8PrivateKeyPem()}", .. bothSettings ?? []];
        var replica = await ExtraRegistry.StartAsync(storage,
        [
            "--Jobs:InProcess=false", "--Audit:Enabled=false",
            $"--Storage:ConnectionString={storage.ConnectionStringOf(ReplicaAccount)}",
            $"--Replication:Primary:ConnectionString={storage.ConnectionString}",
            $"--Replication:PrimaryUrl=http://127.0.0.1:{primaryPort}",
            // Tags written by another instance (registry-admin's repair) are seen at once, as from storage.
            "--Cache:Tags=00:00:00",
            .. eventSecret is null ? Array.Empty<string>() : [$"--Replication:EventSecret={eventSecret}"],
            .. replicaSettings ?? [],
            .. shared,
        ], builder =>
        {
            builder.Services.AddSingleton<HttpPipelinePolicy>(gate);
            foreach (var policy in replicaPolicies)
            {
                builder.Services.AddSingleton(policy);
            }
        });
        string[] delivery = eventSecret is null
            ? []
            :
            [
                $"--Events:Webhooks:0:Url={new Uri(replica.BaseAddress, "/_replication/events")}", $"--Events:Webhooks:0:Secret={eventSecret}",
                "--Events:AllowPrivateTargets=true", "--Events:SendTimeout=00:02:00", "--Events:RetryBase=00:00:00.200",
            ];
        var primary = await ExtraRegistry.StartAsync(storage,
            ["--Jobs:InProcess=false", "--Audit:Enabled=false", $"--Registry:Port={primaryPort}", .. delivery, .. shared]);
        return new ReplicatedPair(storage, primary, replica, gate);
    }

    /// <summary>
    /// The primary's region is down: its instance stops, and every call of the replica to the primary's account fails
    /// as an unreachable network does (the account itself stays, in the one Azurite).
    /// </summary>
    public async Task StopPrimaryAsync()
    {
        await Primary.DisposeAsync();
        Gate.FailWhile(request => IsCallTo(request, Azurite.DefaultAccount));
    }

    /// <summary>Where the replica's own tag points (from its storage: a pull would fall back to the primary); null when it has none.</summary>
    public async Task<string?> ReplicaTagAsync(string repository, string tag) =>
        (await Replica.Services.GetRequiredService<Registry.Storage.Tags.TagStore>().ReadAsync(
            Registry.Oci.RepositoryName.TryParse(repository, out var name) ? name : throw new ArgumentException(repository),
            Registry.Oci.Tag.TryParse(tag, out var parsed) ? parsed : throw new ArgumentException(tag), CancellationToken.None)).Digest?.Value;

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Whether <paramref name="request"/> goes to <paramref name="account"/> (Azurite names the account first in the path).</summary>
    public static bool IsCallTo(Azure.Core.Request request, string account) =>
        request.Uri.Path.TrimStart('/').StartsWith(account + "/", StringComparison.Ordinal)
        || request.Uri.Path.TrimStart('/').StartsWith(account + "(", StringComparison.Ordinal);

    public async ValueTask DisposeAsync()
    {
        Gate.Release();
        await Replica.DisposeAsync();
        await Primary.DisposeAsync();
        await Storage.DisposeAsync();
    }
}
