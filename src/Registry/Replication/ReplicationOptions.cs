using Registry.Storage;

namespace Registry.Replication;

/// <summary>
/// Whether this instance is a read replica, and of what (configuration section <c>Replication</c>). A replica serves
/// pulls from its own storage (<c>Storage</c>), which only the <c>replicate</c> function writes, from the events of
/// the primary it reads with <see cref="Primary"/>'s settings (read rights are all it needs there).
/// </summary>
public sealed class ReplicationOptions
{
    public const string Section = "Replication";

    /// <summary>The primary region's storage, read-only: a connection string, or endpoints reached with the app's identity.</summary>
    public StorageOptions Primary { get; set; } = new() { CreateIfMissing = false };

    /// <summary>The primary registry's URL, where a replica forwards the writes clients send it (unset: it refuses them).</summary>
    public Uri? PrimaryUrl { get; set; }

    /// <summary>
    /// The secret the primary's webhook signs its deliveries with (<c>Events:Webhooks:n:Secret</c>): set, the replica
    /// accepts the primary's events at <c>POST /_replication/events</c>, which is how they reach a replica run without
    /// the Functions host (the deployed app takes them from its queue instead).
    /// </summary>
    public string? EventSecret { get; set; }

    public bool IsReplica => !string.IsNullOrEmpty(Primary.ConnectionString) || Primary.BlobServiceUri is not null;
}
