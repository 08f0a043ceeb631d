using Registry.Diagnostics;
using Registry.Oci;
using Registry.Storage.Blobs;
using Registry.Storage.Manifests;

namespace Registry.Replication;

/// <summary>
/// What a replica answers a pull of something replication has not brought yet: the primary's manifest, or a redirect
/// to the primary's blob, so a client never gets a 404 for what the primary acknowledged. Each such read is counted
/// (<c>registry.replica.fallbacks</c>): a steady count means replication lags. With the primary unreachable the read
/// fails as storage does (503), never as a 404. Off (null answers) on an instance that is no replica.
/// </summary>
public sealed class ReplicaFallback(PrimaryRegistry primary, RegistryMetrics metrics)
{
    /// <summary>The primary's manifest for <paramref name="reference"/>, or null when the primary has none either.</summary>
    public async Task<StoredManifest?> FindManifestAsync(RepositoryName repository, ManifestReference reference, CancellationToken cancellationToken)
    {
        if (!primary.IsConfigured)
        {
            return null;
        }
        var digest = reference.Digest ?? (reference.Tag is { } tag ? await primary.TagAsync(repository, tag, cancellationToken) : null);
        if (digest is null || await primary.ManifestAsync(repository, digest.Value, cancellationToken) is not { } manifest)
        {
            return null;
        }
        metrics.RecordReplicaFallback("manifest");
        return new StoredManifest(manifest.Digest, manifest.MediaType, manifest.Content.Length, manifest.Content);
    }

    /// <summary>The primary's blob and a read SAS URL of it, or null when the primary does not link it either.</summary>
    public async Task<(BlobInfo Blob, Uri Url)?> FindBlobAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        if (!primary.IsConfigured || await primary.LinkAsync(repository, digest, cancellationToken) is not { } link)
        {
            return null;
        }
        metrics.RecordReplicaFallback("blob");
        return (link, await primary.ReadUrlAsync(link.BlobName, cancellationToken));
    }
}
