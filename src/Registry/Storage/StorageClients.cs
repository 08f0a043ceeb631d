using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace Registry.Storage;

/// <summary>
/// The Azure clients for the registry's container and tables, built once from <see cref="StorageOptions"/>, on first
/// use: creating them costs about a tenth of a second of a cold start (the Azure SDK loads and compiles), and the
/// answers that need no storage (the <c>/v2/</c> challenge) do not wait for it. Missing settings throw at once.
/// </summary>
public sealed class StorageClients
{
    private readonly Lazy<Clients> _clients;

    public StorageClients(IOptions<StorageOptions> options, IEnumerable<HttpPipelinePolicy> extraPolicies)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        if (string.IsNullOrEmpty(o.ConnectionString) && (o.BlobServiceUri is null || o.TableServiceUri is null))
        {
            throw new InvalidOperationException(
                "Storage is not configured: set Storage:ConnectionString, or both Storage:BlobServiceUri and Storage:TableServiceUri.");
        }
        var policies = extraPolicies.ToList();
        _clients = new Lazy<Clients>(() => Create(o, policies));
    }

    public BlobServiceClient BlobService => _clients.Value.BlobService;

    public BlobContainerClient Container => _clients.Value.Container;

    /// <summary>Per-repository partitions: tags, manifests, links, uploads, referrers, events, and the catalog.</summary>
    public TableClient Repositories => _clients.Value.Repositories;

    /// <summary>The global content index: digest → committed blob, and which repositories reference it.</summary>
    public TableClient Blobs => _clients.Value.Blobs;

    /// <summary>Registry tokens (credentials and their scope maps).</summary>
    public TableClient Auth => _clients.Value.Auth;

    /// <summary>The append-only audit log, one partition per UTC day.</summary>
    public TableClient Audit => _clients.Value.Audit;

    public async Task CreateIfMissingAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(
            Container.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            Repositories.CreateIfNotExistsAsync(cancellationToken),
            Blobs.CreateIfNotExistsAsync(cancellationToken),
            Auth.CreateIfNotExistsAsync(cancellationToken),
            Audit.CreateIfNotExistsAsync(cancellationToken));
    }

    private static Clients Create(StorageOptions o, List<HttpPipelinePolicy> policies)
    {
        var blobOptions = new BlobClientOptions();
        blobOptions.Retry.NetworkTimeout = o.NetworkTimeout;
        blobOptions.Retry.MaxRetries = o.MaxRetries;
        var tableOptions = new TableClientOptions();
        tableOptions.Retry.NetworkTimeout = o.NetworkTimeout;
        tableOptions.Retry.MaxRetries = o.MaxRetries;
        foreach (var policy in policies)
        {
            blobOptions.AddPolicy(policy, HttpPipelinePosition.PerRetry);
            tableOptions.AddPolicy(policy, HttpPipelinePosition.PerRetry);
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
            TokenCredential credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions
            {
                ManagedIdentityClientId = o.ManagedIdentityClientId,
            });
            blobService = new BlobServiceClient(o.BlobServiceUri, credential, blobOptions);
            tableService = new TableServiceClient(o.TableServiceUri, credential, tableOptions);
        }
        return new Clients(
            blobService,
            blobService.GetBlobContainerClient(o.BlobContainer),
            tableService.GetTableClient(o.RepositoriesTable),
            tableService.GetTableClient(o.BlobsTable),
            tableService.GetTableClient(o.AuthTable),
            tableService.GetTableClient(o.AuditTable));
    }

    private sealed record Clients(
        BlobServiceClient BlobService, BlobContainerClient Container, TableClient Repositories, TableClient Blobs, TableClient Auth, TableClient Audit);
}
