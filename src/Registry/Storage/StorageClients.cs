using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace Registry.Storage;

/// <summary>
/// The Azure clients for the registry's container and tables (and the account's queue service), built once from
/// <see cref="StorageOptions"/>, on first use: creating them costs about a tenth of a second of a cold start (the Azure
/// SDK loads and compiles), and the answers that need no storage (the <c>/v2/</c> challenge) do not wait for it. The
/// queue client, which only <c>registry-admin</c> uses, is built apart, on its own first use: the app never builds it.
/// Missing settings throw at once.
/// </summary>
public sealed class StorageClients
{
    private readonly Lazy<Clients> _clients;
    private readonly Lazy<QueueServiceClient?> _queueService;

    /// <param name="extraPolicies">
    /// Added to every client next to the transport (telemetry, and the fault injection of tests): they see each try as
    /// the network does, cancelled when its share of the call's deadline runs out.
    /// </param>
    /// <param name="time">The clock that deadlines are measured with (<see cref="StorageRetryPolicy"/>).</param>
    public StorageClients(IOptions<StorageOptions> options, IEnumerable<HttpPipelinePolicy> extraPolicies, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        if (string.IsNullOrEmpty(o.ConnectionString) && (o.BlobServiceUri is null || o.TableServiceUri is null))
        {
            throw new InvalidOperationException(
                "Storage is not configured: set Storage:ConnectionString, or both Storage:BlobServiceUri and Storage:TableServiceUri.");
        }
        var policies = extraPolicies.ToList();
        var clock = time ?? TimeProvider.System;
        _clients = new Lazy<Clients>(() => Create(o, policies, clock));
        _queueService = new Lazy<QueueServiceClient?>(() => CreateQueueService(o, policies, clock));
    }

    public BlobServiceClient BlobService => _clients.Value.BlobService;

    public BlobContainerClient Container => _clients.Value.Container;

    /// <summary>Per-repository partitions: tags, manifests, links, uploads, referrers, events, and the catalog.</summary>
    public TableClient RepositoriesTable => _clients.Value.Repositories;

    /// <summary>The global content index: digest → committed blob, and which repositories reference it.</summary>
    public TableClient BlobsTable => _clients.Value.Blobs;

    /// <summary>Registry tokens (credentials and their scope maps).</summary>
    public TableClient AuthTable => _clients.Value.Auth;

    /// <summary>The append-only audit log, one partition per UTC day.</summary>
    public TableClient AuditTable => _clients.Value.Audit;

    /// <summary>Policies an operator sets (retention, immutability), one partition per kind.</summary>
    public TableClient PoliciesTable => _clients.Value.Policies;

    /// <summary>
    /// The account's queue service, where a deployed replica's <c>replication</c> queue is; null when no queue endpoint
    /// is known (a connection string with explicit endpoints but no <c>QueueEndpoint</c>, or a blob endpoint that is not
    /// of the <c>.blob.</c> form and no <see cref="StorageOptions.QueueServiceUri"/>). No queue is created here: the
    /// IaC creates <c>replication</c>, the Functions host <c>replication-poison</c>.
    /// </summary>
    public QueueServiceClient? QueueService => _queueService.Value;

    public async Task CreateIfMissingAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(
            Container.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            RepositoriesTable.CreateIfNotExistsAsync(cancellationToken),
            BlobsTable.CreateIfNotExistsAsync(cancellationToken),
            AuthTable.CreateIfNotExistsAsync(cancellationToken),
            AuditTable.CreateIfNotExistsAsync(cancellationToken),
            PoliciesTable.CreateIfNotExistsAsync(cancellationToken));
    }

    private static Clients Create(StorageOptions o, List<HttpPipelinePolicy> policies, TimeProvider time)
    {
        var blobOptions = new BlobClientOptions { RetryPolicy = new StorageRetryPolicy(blobService: true, o, time) };
        blobOptions.Retry.NetworkTimeout = o.NetworkTimeout;
        var tableOptions = new TableClientOptions { RetryPolicy = new StorageRetryPolicy(blobService: false, o, time) };
        tableOptions.Retry.NetworkTimeout = o.NetworkTimeout;
        foreach (var policy in policies)
        {
            blobOptions.AddPolicy(policy, HttpPipelinePosition.BeforeTransport);
            tableOptions.AddPolicy(policy, HttpPipelinePosition.BeforeTransport);
        }

        BlobServiceClient blobService;
        TableServiceClient tableService;
        if (!string.IsNullOrEmpty(o.ConnectionString))
        {
            blobService = new BlobServiceClient(o.ConnectionString, blobOptions);
            tableService = new TableServiceClient(o.ConnectionString, tableOptions);
        }
        else
        {
            var credential = Credential(o);
            blobService = new BlobServiceClient(o.BlobServiceUri, credential, blobOptions);
            tableService = new TableServiceClient(o.TableServiceUri, credential, tableOptions);
        }
        return new Clients(
            blobService,
            blobService.GetBlobContainerClient(o.BlobContainer),
            tableService.GetTableClient(o.RepositoriesTable),
            tableService.GetTableClient(o.BlobsTable),
            tableService.GetTableClient(o.AuthTable),
            tableService.GetTableClient(o.AuditTable),
            tableService.GetTableClient(o.PoliciesTable));
    }

    private static QueueServiceClient? CreateQueueService(StorageOptions o, List<HttpPipelinePolicy> policies, TimeProvider time)
    {
        var queueOptions = new QueueClientOptions { RetryPolicy = new StorageRetryPolicy(blobService: false, o, time) };
        queueOptions.Retry.NetworkTimeout = o.NetworkTimeout;
        foreach (var policy in policies)
        {
            queueOptions.AddPolicy(policy, HttpPipelinePosition.BeforeTransport);
        }
        if (string.IsNullOrEmpty(o.ConnectionString))
        {
            return QueueServiceUriOf(o) is { } queueUri ? new QueueServiceClient(queueUri, Credential(o), queueOptions) : null;
        }
        var queueService = new QueueServiceClient(o.ConnectionString, queueOptions);
        // A connection string without a queue endpoint (nor an account name to derive one from) gives a client with no URI.
        return string.IsNullOrEmpty(queueService.Uri?.OriginalString) ? null : queueService;
    }

    private static DefaultAzureCredential Credential(StorageOptions o) =>
        new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = o.ManagedIdentityClientId });

    /// <summary><see cref="StorageOptions.QueueServiceUri"/>, else the queue endpoint of the blob endpoint's account.</summary>
    internal static Uri? QueueServiceUriOf(StorageOptions o)
    {
        if (o.QueueServiceUri is not null || o.BlobServiceUri is null)
        {
            return o.QueueServiceUri;
        }
        var labels = o.BlobServiceUri.Host.Split('.');
        if (labels.Length < 3 || !labels[1].Equals("blob", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        labels[1] = "queue";
        return new UriBuilder(o.BlobServiceUri) { Host = string.Join('.', labels) }.Uri;
    }

    private sealed record Clients(
        BlobServiceClient BlobService, BlobContainerClient Container, TableClient Repositories, TableClient Blobs, TableClient Auth, TableClient Audit,
        TableClient Policies);
}
