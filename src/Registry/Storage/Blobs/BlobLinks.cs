using Azure;
using Azure.Data.Tables;
using Registry.Oci;
using Registry.Storage.Quotas;
using Registry.Storage.References;
using Registry.Storage.Reviews;

namespace Registry.Storage.Blobs;

/// <summary>A blob as one repository sees it.</summary>
public sealed record BlobInfo(Digest Digest, long Size, string BlobName);

/// <summary>A link row as the collector reads it: its size, ETag and when storage last wrote it.</summary>
public sealed record LinkRow(long Size, ETag ETag, DateTimeOffset? WrittenAt);

/// <summary>
/// The per-repository links (<c>blob:&lt;digest&gt;</c> rows): a repository can read a blob only through a link,
/// so content in another repository is never visible here. The global reference is written before a link and
/// removed after it, so a link never outlives its content's reference.
/// </summary>
public sealed class BlobLinks(StorageClients clients, ContentIndex content, ManifestUses uses, GarbageReviews reviews, ReadCache cache, QuotaAdmission quotas)
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
        var response = await clients.RepositoriesTable.GetEntityIfExistsAsync<BlobLinkEntity>(
            TableKeys.Repository(repository), TableKeys.BlobLink(digest), cancellationToken: cancellationToken);
        return response.HasValue ? new BlobInfo(digest, response.Value!.Size, response.Value.BlobName) : null;
    }

    /// <summary>
    /// Links committed content into <paramref name="repository"/>, whose reference the caller has recorded in the
    /// <see cref="ContentIndex"/> first, and closes <paramref name="completedSession"/> (the upload that produced it) in
    /// the same transaction. A session that a concurrent completion closed already is not an error: the link is
    /// written alone.
    /// </summary>
    public async Task<BlobInfo> LinkAsync(
        RepositoryName repository, Digest digest, ContentEntity entry, UploadEntity? completedSession, CancellationToken cancellationToken)
    {
        var link = new BlobLinkEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.BlobLink(digest),
            Size = entry.Size,
            BlobName = entry.BlobName,
        };
        // The review lets the collector find the link if no manifest ever uses it (an abandoned push).
        await reviews.MarkRepositoryAsync(repository, cancellationToken);
        TableTransactionAction[] writeLink = [new(TableTransactionActionType.UpsertReplace, link), reviews.LinkReview(repository, digest)];
        try
        {
            if (completedSession is null)
            {
                await clients.RepositoriesTable.SubmitTransactionAsync(writeLink, cancellationToken);
            }
            else
            {
                try
                {
                    await clients.RepositoriesTable.SubmitTransactionAsync(
                        [.. writeLink, new TableTransactionAction(TableTransactionActionType.Delete, completedSession, ETag.All)], cancellationToken);
                }
                catch (TableTransactionFailedException e) when (e.Status == 404)
                {
                    await clients.RepositoriesTable.SubmitTransactionAsync(writeLink, cancellationToken);
                }
            }
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

    /// <summary>
    /// Links <paramref name="digest"/> from <paramref name="source"/> into <paramref name="target"/>. BLOB_UNKNOWN when
    /// the source has no such blob (the client then uploads it); 403 DENIED when it would take a storage quota of the
    /// target past its size.
    /// </summary>
    public async Task<Outcome<BlobInfo>> MountAsync(RepositoryName target, RepositoryName source, Digest digest, CancellationToken cancellationToken)
    {
        var linked = await FindCurrentAsync(source, digest, cancellationToken);
        if (linked is null)
        {
            return Unknown(source, digest);
        }
        if ((await quotas.AdmitBlobAsync(target, digest, linked.Size, cancellationToken)).Error is { } overQuota)
        {
            return overQuota;
        }
        var entry = await content.FindAsync(digest, cancellationToken);
        if (entry is null || !await content.AddReferenceAsync(digest, target, cancellationToken))
        {
            return Unknown(source, digest);
        }
        return await LinkAsync(target, digest, entry, null, cancellationToken);
    }

    /// <summary>
    /// Removes the link. Done when removed; BLOB_UNKNOWN when there is none; 409 DENIED, changing nothing, when a
    /// manifest of the repository uses the blob (delete the manifest first: garbage collection reclaims what no
    /// manifest uses); 503 UNAVAILABLE, changing nothing, when the link changed meanwhile.
    /// </summary>
    public async Task<Outcome<Done>> UnlinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var (partition, row) = (TableKeys.Repository(repository), TableKeys.BlobLink(digest));
        try
        {
            var link = await clients.RepositoriesTable.GetEntityIfExistsAsync<TableEntity>(partition, row, ["PartitionKey", "RowKey"], cancellationToken);
            if (!link.HasValue)
            {
                return Unknown(repository, digest);
            }
            if (await InUseAsync(repository, digest, cancellationToken) is { } refused)
            {
                return refused;
            }
            try
            {
                if ((await clients.RepositoriesTable.DeleteEntityAsync(partition, row, link.Value!.ETag, cancellationToken)).Status == 404)
                {
                    return Unknown(repository, digest);
                }
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                // A push touched the link after it was read: it may use the blob now.
                return await InUseAsync(repository, digest, cancellationToken)
                    ?? new OciError(Failure.ChangedMeanwhile, $"the link of {digest} changed while it was being deleted; nothing was deleted, try again");
            }
        }
        finally
        {
            cache.Invalidate(CachedKind.BlobLink, partition, row);
        }
        await content.ReleaseAsync(digest, repository, cancellationToken);
        return new Done();
    }

    /// <summary>
    /// The link row as storage has it now, with its ETag and when it was last written or touched (by storage's clock),
    /// for the collector; null when there is none.
    /// </summary>
    public async Task<LinkRow?> FindRowAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var response = await clients.RepositoriesTable.GetEntityIfExistsAsync<BlobLinkEntity>(
            TableKeys.Repository(repository), TableKeys.BlobLink(digest), ["PartitionKey", "RowKey", "Timestamp", "Size", "BlobName"], cancellationToken);
        return response.HasValue ? new LinkRow(response.Value!.Size, response.Value.ETag, response.Value.Timestamp) : null;
    }

    /// <summary>
    /// Removes the link only if its row is unchanged since <paramref name="row"/> was read (no push touched it since),
    /// then releases the content reference. False when it changed or went meanwhile.
    /// </summary>
    public async Task<bool> DeleteIfUnchangedAsync(RepositoryName repository, Digest digest, LinkRow row, CancellationToken cancellationToken)
    {
        var (partition, key) = (TableKeys.Repository(repository), TableKeys.BlobLink(digest));
        try
        {
            // A missing entity comes back as a 404 response, not an exception: another collector deleted it.
            if ((await clients.RepositoriesTable.DeleteEntityAsync(partition, key, row.ETag, cancellationToken)).Status == 404)
            {
                return false;
            }
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            return false;
        }
        finally
        {
            cache.Invalidate(CachedKind.BlobLink, partition, key);
        }
        await content.ReleaseAsync(digest, repository, cancellationToken);
        return true;
    }

    private async Task<OciError?> InUseAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var users = await uses.FindUsersAsync(repository, digest, cancellationToken, includeSoftDeleted: false);
        return users.Count == 0
            ? null
            : new OciError(Failure.InUse,
                $"blob {digest} is used by manifest {ManifestUses.Describe(users)} in repository {repository}; delete the manifest first");
    }

    private static OciError Unknown(RepositoryName repository, Digest digest) =>
        new(Failure.BlobUnknown, $"{digest} is not in repository {repository}");
}
