namespace Registry.Storage;

/// <summary>
/// Where the registry keeps its data (configuration section <c>Storage</c>). Either a connection string
/// (Azurite, or an account with shared keys), or endpoints reached with an Entra identity
/// (DefaultAzureCredential), which is how a deployed registry runs since its account has shared keys disabled.
/// </summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>A storage connection string; when set, the endpoints below are ignored.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>e.g. https://account.blob.core.windows.net</summary>
    public Uri? BlobServiceUri { get; set; }

    /// <summary>e.g. https://account.table.core.windows.net</summary>
    public Uri? TableServiceUri { get; set; }

    /// <summary>
    /// e.g. https://account.queue.core.windows.net. Unset: the account's queue endpoint next to
    /// <see cref="BlobServiceUri"/> (<c>.blob.</c> becomes <c>.queue.</c>). Only <c>registry-admin replication status</c>
    /// reads a queue (the Functions host's trigger has a connection of its own, <c>ReplicationQueue</c>).
    /// </summary>
    public Uri? QueueServiceUri { get; set; }

    /// <summary>Client id of a user-assigned managed identity, when the app has one.</summary>
    public string? ManagedIdentityClientId { get; set; }

    public string BlobContainer { get; set; } = "registry";

    public string RepositoriesTable { get; set; } = "repositories";

    public string BlobsTable { get; set; } = "blobs";

    public string AuthTable { get; set; } = "auth";

    public string AuditTable { get; set; } = "audit";

    public string PoliciesTable { get; set; } = "policies";

    /// <summary>Create the container and tables at start-up when missing (local runs; IaC creates them in Azure).</summary>
    public bool CreateIfMissing { get; set; } = true;

    /// <summary>How long a pull's read-only SAS URL stays valid.</summary>
    public TimeSpan SasLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The longest one try of a storage call may take; a try gets less when less is left of the call's deadline.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How often a failed storage call is retried (with exponential backoff) within its deadline before the client gets a 503.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>
    /// Deadline of a storage call that moves no content, retries included: a point read or write, an entity-group
    /// transaction, a page of a query, a blob's properties or deletion.
    /// </summary>
    public TimeSpan CallDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Deadline of a storage call that moves blob content, retries included: staging a block (4 MiB), committing a
    /// block list, writing or reading a blob (a manifest kept as a blob, a block of a blob read back).
    /// </summary>
    public TimeSpan TransferDeadline { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a request may take before it is answered 503 UNAVAILABLE, not counting the time spent moving a body
    /// between the client and storage (an upload's chunks, a range served by the registry), which per-call deadlines
    /// bound instead. Below the 230 s after which the Azure Functions front end gives up on a request.
    /// </summary>
    public TimeSpan RequestBudget { get; set; } = TimeSpan.FromSeconds(120);
}
