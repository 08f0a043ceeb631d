using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace Registry.Storage;

/// <summary>The Azure clients for the registry's container and tables, built once from <see cref="StorageOptions"/>.</summary>
public sealed class StorageClients
{
    public StorageClients(IOptions<StorageOptions> options, IEnumerable<HttpPipelinePolicy> extraPolicies)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        var policies = extraPolicies.ToList();
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

        if (!string.IsNullOrEmpty(o.ConnectionString))
        {
            BlobService = new BlobServiceClient(o.ConnectionString, blobOptions);
            var tableService = new TableServiceClient(o.ConnectionString, tableOptions);
            Repositories = tableService.GetTableClient(o.RepositoriesTable);
            Blobs = tableService.GetTableClient(o.BlobsTable);
            Auth = tableService.GetTableClient(o.AuthTable);
            Audit = tableService.GetTableClient(o.AuditTable);
        }
        else
        {
            if (o.BlobServiceUri is null || o.TableServiceUri is null)
            {
                throw new InvalidOperationException(
                    "Storage is not configured: set Storage:ConnectionString, or both Storage:BlobServiceUri and Storage:TableServiceUri.");
            }
            TokenCredential credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions
            {
                ManagedIdentityClientId = o.ManagedIdentityClientId,
            });
            BlobService = new BlobServiceClient(o.BlobServiceUri, credential, blobOptions);
            var tableService = new TableServiceClient(o.TableServiceUri, credential, tableOptions);
            Repositories = tableService.GetTableClient(o.RepositoriesTable);
            Blobs = tableService.GetTableClient(o.BlobsTable);
            Auth = tableService.GetTableClient(o.AuthTable);
            Audit = tableService.GetTableClient(o.AuditTable);
        }
        Container = BlobService.GetBlobContainerClient(o.BlobContainer);
    }

    public BlobServiceClient BlobService { get; }

    public BlobContainerClient Container { get; }

    /// <summary>Per-repository partitions: tags, manifests, links, uploads, referrers, events, and the catalog.</summary>
    public TableClient Repositories { get; }

    /// <summary>The global content index: digest → committed blob, and which repositories reference it.</summary>
    public TableClient Blobs { get; }

    /// <summary>Registry tokens (credentials and their scope maps).</summary>
    public TableClient Auth { get; }

    /// <summary>The append-only audit log, one partition per UTC day.</summary>
    public TableClient Audit { get; }

    public async Task CreateIfMissingAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(
            Container.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            Repositories.CreateIfNotExistsAsync(cancellationToken),
            Blobs.CreateIfNotExistsAsync(cancellationToken),
            Auth.CreateIfNotExistsAsync(cancellationToken),
            Audit.CreateIfNotExistsAsync(cancellationToken));
    }
}
