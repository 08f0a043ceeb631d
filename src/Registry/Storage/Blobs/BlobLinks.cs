using Azure;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage.Blobs;

/// <summary>A blob as one repository sees it.</summary>
public sealed record BlobInfo(Digest Digest, long Size, string BlobName);

/// <summary>
/// The per-repository links (<c>blob:&lt;digest&gt;</c> rows): a repository can read a blob only through a link,
/// so content in another repository is never visible here. The global reference is written before a link and
/// removed after it, so a link never outlives its content's reference.
/// </summary>
public sealed class BlobLinks(StorageClients clients, ContentIndex content, ReadCache cache)
{
    /// <summary>
    /// The blob as <paramref name="repository"/> sees it, or null when it is not linked there. May be answered from
    /// <see cref="ReadCache"/>: a link removed through another instance is seen at most <see cref="ReadCacheOptions.Content"/> late.
    /// </summary>
    public async Task<BlobInfo?> FindAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var row = TableKeys.BlobLink(digest);
        if (cache.TryGet<BlobInfo>(CachedKind.BlobLink, partition, row, out var known))
        {
            return known;
        }
        var stamp = cache.Begin(partition);
        var found = await FindCurrentAsync(repository, digest, cancellationToken);
        if (found is not null)
        {
            cache.Set(stamp, CachedKind.BlobLink, partition, row, found);
        }
        return found;
    }

    /// <summary>The link as storage has it now (what a manifest push and a mount check against), or null.</summary>
    public async Task<BlobInfo?> FindCurrentAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var response = await clients.Repositories.GetEntityIfExistsAsync<BlobLinkEntity>(
            TableKeys.Repository(repository), TableKeys.BlobLink(digest), cancellationToken: cancellationToken);
        return response.HasValue ? new BlobInfo(digest, response.Value!.Size, response.Value.BlobName) : null;
    }

    /// <summary>
    /// Links committed content into <paramref name="repository"/>, whose reference the caller has recorded in the
    /// <see cref="ContentIndex"/> first; extra operations of the same partition join the transaction.
    /// </summary>
    public async Task<BlobInfo> LinkAsync(
        RepositoryName repository, Digest digest, ContentEntity entry, IEnumerable<TableTransactionAction>? alsoInPartition, CancellationToken cancellationToken)
    {
        var link = new BlobLinkEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.BlobLink(digest),
            Size = entry.Size,
            BlobName = entry.BlobName,
        };
        var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpsertReplace, link) };
        if (alsoInPartition is not null)
        {
            actions.AddRange(alsoInPartition);
        }
        try
        {
            await clients.Repositories.SubmitTransactionAsync(actions, cancellationToken);
        }
        catch
        {
            cache.Invalidate(CachedKind.BlobLink, link.PartitionKey, link.RowKey);
            throw;
        }
        // The manifest push that usually follows finds the link here without reading it.
        var linked = new BlobInfo(digest, entry.Size, entry.BlobName);
        cache.Put(CachedKind.BlobLink, link.PartitionKey, link.RowKey, linked);
        return linked;
    }

    /// <summary>Links <paramref name="digest"/> from <paramref name="source"/> into <paramref name="target"/>; null when the source has no such blob.</summary>
    public async Task<BlobInfo?> MountAsync(RepositoryName target, RepositoryName source, Digest digest, CancellationToken cancellationToken)
    {
        var linked = await FindCurrentAsync(source, digest, cancellationToken);
        if (linked is null)
        {
            return null;
        }
        var entry = await content.FindAsync(digest, cancellationToken);
        if (entry is null)
        {
            return null;
        }
        await content.AddReferenceAsync(digest, target, cancellationToken);
        return await LinkAsync(target, digest, entry, null, cancellationToken);
    }

    /// <summary>Removes the link; false when there was none.</summary>
    public async Task<bool> UnlinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        // The SDK answers a delete of a missing entity with its 404 response rather than an exception.
        var (partition, row) = (TableKeys.Repository(repository), TableKeys.BlobLink(digest));
        Response response;
        try
        {
            response = await clients.Repositories.DeleteEntityAsync(partition, row, ETag.All, cancellationToken);
        }
        finally
        {
            cache.Invalidate(CachedKind.BlobLink, partition, row);
        }
        if (response.Status == 404)
        {
            return false;
        }
        await content.RemoveReferenceAsync(digest, repository, cancellationToken);
        return true;
    }
}
