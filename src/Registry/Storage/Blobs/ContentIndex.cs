using Azure;
using Azure.Data.Tables;
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
    /// <paramref name="digest"/> and records it, with <paramref name="repository"/>'s reference; when the digest is
    /// already recorded, nothing is committed (the staged blocks expire) and only the reference is added. Returns the
    /// entry that holds the digest.
    /// </summary>
    public async Task<ContentEntity> CommitAsync(
        Digest digest, string blobName, IReadOnlyList<string> blockIds, long size, RepositoryName repository, CancellationToken cancellationToken)
    {
        var existing = await FindAsync(digest, cancellationToken);
        if (existing is not null)
        {
            await AddReferenceAsync(digest, repository, cancellationToken);
            return existing;
        }
        await CommitBlocksAsync(blobName, blockIds, cancellationToken);
        return await RecordAsync(digest, blobName, size, repository, cancellationToken);
    }

    /// <summary>Commits staged blocks as the content of <paramref name="blobName"/>. Not yet visible to any pull.</summary>
    public Task CommitBlocksAsync(string blobName, IReadOnlyList<string> blockIds, CancellationToken cancellationToken) =>
        clients.Container.GetBlockBlobClient(blobName).CommitBlockListAsync(blockIds, new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
        }, cancellationToken);

    /// <summary>
    /// Records the committed, verified <paramref name="blobName"/> as the bytes of <paramref name="digest"/>, and
    /// <paramref name="repository"/>'s reference, in one transaction of the digest's partition. If another upload
    /// recorded the digest first, that one stands, this blob is deleted and only the reference is added.
    /// </summary>
    public async Task<ContentEntity> RecordAsync(Digest digest, string blobName, long size, RepositoryName repository, CancellationToken cancellationToken)
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
            await clients.Blobs.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.Add, entry),
                new TableTransactionAction(TableTransactionActionType.UpsertReplace, Reference(digest, repository)),
            ], cancellationToken);
            return entry;
        }
        catch (TableTransactionFailedException e) when (e.Status == 409)
        {
            await clients.Container.GetBlobClient(blobName).DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
            await AddReferenceAsync(digest, repository, cancellationToken);
            return await FindAsync(digest, cancellationToken)
                ?? throw new InvalidOperationException($"content entry for {digest} vanished during a concurrent commit");
        }
    }

    /// <summary>Records that <paramref name="repository"/> links <paramref name="digest"/> (idempotent).</summary>
    public Task AddReferenceAsync(Digest digest, RepositoryName repository, CancellationToken cancellationToken) =>
        clients.Blobs.UpsertEntityAsync(Reference(digest, repository), TableUpdateMode.Replace, cancellationToken);

    private ContentRefEntity Reference(Digest digest, RepositoryName repository) => new()
    {
        PartitionKey = TableKeys.Content(digest),
        RowKey = TableKeys.RepositoryRef(repository),
        Created = time.GetUtcNow(),
    };

    /// <summary>Removes the reference (idempotent). Garbage collection may later delete unreferenced content.</summary>
    public Task RemoveReferenceAsync(Digest digest, RepositoryName repository, CancellationToken cancellationToken) =>
        clients.Blobs.DeleteEntityAsync(TableKeys.Content(digest), TableKeys.RepositoryRef(repository), ETag.All, cancellationToken);
}
