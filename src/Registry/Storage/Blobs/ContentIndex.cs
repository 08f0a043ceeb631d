using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Registry.Oci;

namespace Registry.Storage.Blobs;

/// <summary>
/// The global content index (table <c>blobs</c>): which committed blob holds a digest's bytes, and which
/// repositories reference it. Content is shared by every repository that links it; a link, not the content,
/// decides who may read it.
/// </summary>
public sealed class ContentIndex(StorageClients clients, TimeProvider time)
{
    /// <summary>The committed blob holding <paramref name="digest"/>, or null when no upload committed it yet.</summary>
    public async Task<ContentEntity?> FindAsync(Digest digest, CancellationToken cancellationToken)
    {
        var response = await clients.Blobs.GetEntityIfExistsAsync<ContentEntity>(
            TableKeys.Content(digest), TableKeys.ContentRow, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// Commits the staged <paramref name="blockIds"/> of <paramref name="blobName"/> as the bytes of a verified
    /// <paramref name="digest"/> and records it; when the digest is already recorded, nothing is committed and the
    /// staged blocks expire. Returns the entry that holds the digest.
    /// </summary>
    public async Task<ContentEntity> CommitAsync(
        Digest digest, string blobName, IReadOnlyList<string> blockIds, long size, CancellationToken cancellationToken)
    {
        var existing = await FindAsync(digest, cancellationToken);
        if (existing is not null)
        {
            return existing;
        }
        await CommitBlocksAsync(blobName, blockIds, cancellationToken);
        return await RecordAsync(digest, blobName, size, cancellationToken);
    }

    /// <summary>Commits staged blocks as the content of <paramref name="blobName"/>. Not yet visible to any pull.</summary>
    public Task CommitBlocksAsync(string blobName, IReadOnlyList<string> blockIds, CancellationToken cancellationToken) =>
        clients.Container.GetBlockBlobClient(blobName).CommitBlockListAsync(blockIds, new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
        }, cancellationToken);

    /// <summary>
    /// Records the committed, verified <paramref name="blobName"/> as the bytes of <paramref name="digest"/>. If another
    /// upload recorded the digest first, that one stands and this blob is deleted.
    /// </summary>
    public async Task<ContentEntity> RecordAsync(Digest digest, string blobName, long size, CancellationToken cancellationToken)
    {
        var entry = new ContentEntity
        {
            PartitionKey = TableKeys.Content(digest),
            RowKey = TableKeys.ContentRow,
            BlobName = blobName,
            Size = size,
            Created = time.GetUtcNow(),
        };
        try
        {
            await clients.Blobs.AddEntityAsync(entry, cancellationToken);
            return entry;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            await clients.Container.GetBlobClient(blobName).DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
            return await FindAsync(digest, cancellationToken)
                ?? throw new InvalidOperationException($"content entry for {digest} vanished during a concurrent commit");
        }
    }

    /// <summary>Records that <paramref name="repository"/> links <paramref name="digest"/> (idempotent).</summary>
    public Task AddReferenceAsync(Digest digest, RepositoryName repository, CancellationToken cancellationToken) =>
        clients.Blobs.UpsertEntityAsync(new ContentRefEntity
        {
            PartitionKey = TableKeys.Content(digest),
            RowKey = TableKeys.RepositoryRef(repository),
            Created = time.GetUtcNow(),
        }, Azure.Data.Tables.TableUpdateMode.Replace, cancellationToken);

    /// <summary>Removes the reference (idempotent). Garbage collection may later delete unreferenced content.</summary>
    public Task RemoveReferenceAsync(Digest digest, RepositoryName repository, CancellationToken cancellationToken) =>
        clients.Blobs.DeleteEntityAsync(TableKeys.Content(digest), TableKeys.RepositoryRef(repository), ETag.All, cancellationToken);
}
