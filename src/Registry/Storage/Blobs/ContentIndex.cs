using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Registry.Oci;

namespace Registry.Storage.Blobs;

/// <summary>Who committed a blob's block list: this request, an earlier request for the same digest, or one for another.</summary>
public enum BlobCommit
{
    /// <summary>This request's commit created the blob: it alone may delete it again (<see cref="ContentIndex.DiscardAsync"/>).</summary>
    Created,

    /// <summary>An earlier completion of the same upload, for the same digest, committed it (and may have died since): record it.</summary>
    Adopted,

    /// <summary>An earlier completion of the same upload committed it for another digest: this request must not use it.</summary>
    ClaimedByOther,

    /// <summary>The staged blocks are gone: another completion committed them and discarded the blob.</summary>
    BlocksGone,
}

/// <summary>
/// The global content index (table <c>blobs</c>): which committed blob holds a digest's bytes, and which
/// repositories reference it. Content is shared by every repository that links it; a link, not the content,
/// decides who may read it.
///
/// <para>How concurrent completions stay safe (the protocol in <see cref="TableKeys"/>): a data blob's block list is
/// committed create-only and stamped with the digest it is committed for, so of several requests completing one
/// upload exactly one creates the blob; the others may only record it for that same digest. Only the creator ever
/// deletes it, and only when it proved that no content entry can name it (its digest is recorded under another blob,
/// or its bytes did not match). So a content entry never names a deleted blob.</para>
/// </summary>
public sealed class ContentIndex(StorageClients clients, TimeProvider time)
{
    /// <summary>The blob metadata key that holds the digest a data blob was committed for.</summary>
    public const string DigestMetadata = "digest";

    private const int RecordAttempts = 3;

    /// <summary>The committed blob holding <paramref name="digest"/>, or null when no upload committed it yet.</summary>
    public async Task<ContentEntity?> FindAsync(Digest digest, CancellationToken cancellationToken)
    {
        var response = await clients.Blobs.GetEntityIfExistsAsync<ContentEntity>(
            TableKeys.Content(digest), TableKeys.ContentRow, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// Commits the staged <paramref name="blockIds"/> as the bytes of <paramref name="blobName"/>, create-only and
    /// stamped with <paramref name="digest"/>. Not yet visible to any pull. When the blob was committed already, says
    /// whether that commit was for the same digest (<see cref="BlobCommit.Adopted"/>) or not.
    /// </summary>
    public async Task<BlobCommit> CommitBlocksAsync(string blobName, IReadOnlyList<string> blockIds, Digest digest, CancellationToken cancellationToken)
    {
        var blob = clients.Container.GetBlockBlobClient(blobName);
        try
        {
            await blob.CommitBlockListAsync(blockIds, new CommitBlockListOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
                Metadata = new Dictionary<string, string> { [DigestMetadata] = digest.Value },
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            }, cancellationToken);
            return BlobCommit.Created;
        }
        catch (RequestFailedException e) when (e.Status == 400 && e.ErrorCode == "InvalidBlockList")
        {
            return BlobCommit.BlocksGone;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken);
            return properties.Value.Metadata.TryGetValue(DigestMetadata, out var committedFor) && committedFor == digest.Value
                ? BlobCommit.Adopted
                : BlobCommit.ClaimedByOther;
        }
    }

    /// <summary>
    /// Records the committed, verified <paramref name="blobName"/> as the bytes of <paramref name="digest"/>, and
    /// <paramref name="repository"/>'s reference, in one transaction of the digest's partition. If another blob was
    /// recorded for the digest first, that one stands and only the reference is added; this blob is then deleted when
    /// this request created it (<paramref name="commit"/>), since nothing can name it. Returns the entry that holds
    /// the digest.
    /// </summary>
    public async Task<ContentEntity> RecordAsync(
        Digest digest, string blobName, long size, RepositoryName repository, BlobCommit commit, CancellationToken cancellationToken)
    {
        var entry = new ContentEntity
        {
            PartitionKey = TableKeys.Content(digest),
            RowKey = TableKeys.ContentRow,
            BlobName = blobName,
            Size = size,
            Created = time.GetUtcNow(),
        };
        for (var attempt = 1; ; attempt++)
        {
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
                var existing = await FindAsync(digest, cancellationToken);
                if (existing is null && attempt < RecordAttempts)
                {
                    continue; // removed between our insert and our read: insert again
                }
                if (existing is null)
                {
                    throw new InvalidOperationException($"the content entry of {digest} keeps vanishing while it is recorded");
                }
                if (existing.BlobName != blobName && commit == BlobCommit.Created)
                {
                    await DiscardAsync(blobName);
                }
                await AddReferenceAsync(digest, repository, cancellationToken);
                return existing;
            }
        }
    }

    /// <summary>
    /// Deletes a blob this request created and proved unnamed (see <see cref="BlobCommit.Created"/>); never called for a
    /// blob another request committed. Runs to the end even when the request is cancelled.
    /// </summary>
    public Task DiscardAsync(string blobName) =>
        clients.Container.GetBlobClient(blobName).DeleteIfExistsAsync(cancellationToken: CancellationToken.None);

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
