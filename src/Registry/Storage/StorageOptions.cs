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

    /// <summary>Client id of a user-assigned managed identity, when the app has one.</summary>
    public string? ManagedIdentityClientId { get; set; }

    public string BlobContainer { get; set; } = "registry";

    public string RepositoriesTable { get; set; } = "repositories";

    public string BlobsTable { get; set; } = "blobs";

    public string AuthTable { get; set; } = "auth";

    public string AuditTable { get; set; } = "audit";

    /// <summary>Create the container and tables at start-up when missing (local runs; IaC creates them in Azure).</summary>
    public bool CreateIfMissing { get; set; } = true;

    /// <summary>How long a pull's read-only SAS URL stays valid.</summary>
    public TimeSpan SasLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Per-try deadline of a storage call.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How often the SDK retries a failed storage call (with exponential backoff) before the client gets a 503.</summary>
    public int MaxRetries { get; set; } = 3;
}
