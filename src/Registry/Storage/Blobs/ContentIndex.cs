using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Registry.Oci;
using Registry.Storage.Reviews;

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
public sealed class ContentIndex(StorageClients clients, GarbageReviews reviews, TimeProvider time)
{
    /// <summary>The blob metadata key that holds the digest a data blob was committed for.</summary>
    public const string DigestMetadata = "digest";

    private const int RecordAttempts = 3;

    /// <summary>The committed blob holding <paramref name="digest"/>, or null when no upload committed it yet.</summary>
    public async Task<ContentEntity?> FindAsync(Digest digest, CancellationToken cancellationToken)
    {
        var response = await clients.BlobsTable.GetEntityIfExistsAsync<ContentEntity>(
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
                await clients.BlobsTable.SubmitTransactionAsync(
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
                if (!await AddReferenceAsync(digest, repository, cancellationToken))
                {
                    if (attempt < RecordAttempts)
                    {
                        continue; // collected between our read and our reference: record ours after all
                    }
                    throw new InvalidOperationException($"the content entry of {digest} keeps vanishing while it is recorded");
                }
                if (existing.BlobName != blobName && commit == BlobCommit.Created)
                {
                    await DiscardAsync(blobName);
                }
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

    /// <summary>
    /// Records that <paramref name="repository"/> links <paramref name="digest"/> (idempotent), in one transaction with a
    /// touch of the content row, so the collector, which deletes that row only if it is unchanged since it found no
    /// reference, can never delete content a reference was just added to. False when the content row is gone (the
    /// collector took it): the caller must commit bytes of its own instead.
    /// </summary>
    public async Task<bool> AddReferenceAsync(Digest digest, RepositoryName repository, CancellationToken cancellationToken)
    {
        try
        {
            await clients.BlobsTable.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpdateMerge,
                    new TableEntity(TableKeys.Content(digest), TableKeys.ContentRow) { ["LastReferenced"] = time.GetUtcNow() }, ETag.All),
                new TableTransactionAction(TableTransactionActionType.UpsertReplace, Reference(digest, repository)),
            ], cancellationToken);
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    /// <summary>
    /// Removes <paramref name="repository"/>'s reference to <paramref name="digest"/> (after its link went), with a review
    /// of the content in the same transaction: the collector deletes the content once no reference is left. With
    /// <paramref name="unchangedSince"/>, only a reference written before then is removed: a younger one may belong to an
    /// upload about to link it.
    /// </summary>
    public async Task ReleaseAsync(Digest digest, RepositoryName repository, CancellationToken cancellationToken, DateTimeOffset? unchangedSince = null)
    {
        var reference = await clients.BlobsTable.GetEntityIfExistsAsync<TableEntity>(
            TableKeys.Content(digest), TableKeys.RepositoryRef(repository), ["PartitionKey", "RowKey", "Timestamp"], cancellationToken);
        if (!reference.HasValue || (unchangedSince is { } since && reference.Value!.Timestamp is { } written && written > since))
        {
            return;
        }
        var entry = await FindAsync(digest, cancellationToken);
        await reviews.MarkContentAsync(digest, cancellationToken);
        List<TableTransactionAction> release =
        [
            new(TableTransactionActionType.Delete, reference.Value!, reference.Value!.ETag),
            reviews.ContentReview(digest, entry?.BlobName),
        ];
        if (entry is not null)
        {
            // The content row's time becomes the release's: the collector waits a whole grace period after the last
            // reference went, whichever review it takes up, so no cached link to the bytes is still served.
            release.Add(new(TableTransactionActionType.UpdateMerge,
                new TableEntity(TableKeys.Content(digest), TableKeys.ContentRow) { ["LastReleased"] = time.GetUtcNow() }, ETag.All));
        }
        try
        {
            await clients.BlobsTable.SubmitTransactionAsync(release, cancellationToken);
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 412)
        {
            // Removed or written again meanwhile (a new link in the same repository): nothing to release now.
        }
    }

    /// <summary>
    /// Deletes <paramref name="digest"/>'s content (its row, then its bytes) when no repository references it and the
    /// row was last written before <paramref name="unchangedSince"/>; conditionally on the row's ETag, so a reference
    /// added meanwhile (<see cref="AddReferenceAsync"/> touches the row) keeps it. With <paramref name="dryRun"/>
    /// nothing is deleted. Returns what was (or would be) deleted, or null when the content stays.
    /// </summary>
    /// <param name="reviewedBlob">The blob the content row named when its review was written: deleted if the row is gone
    /// already (a collector killed between the two deletes).</param>
    public async Task<ContentEntity?> CollectAsync(
        Digest digest, string? reviewedBlob, DateTimeOffset unchangedSince, bool dryRun, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Content(digest);
        var entry = await FindAsync(digest, cancellationToken);
        if (entry is null && reviewedBlob is not null && !dryRun)
        {
            var leftover = await clients.Container.GetBlobClient(reviewedBlob).DeleteIfExistsAsync(cancellationToken: cancellationToken);
            return leftover.Value ? new ContentEntity { BlobName = reviewedBlob } : null;
        }
        if (entry is null || entry.Timestamp is not { } written || written > unchangedSince)
        {
            return null;
        }
        var refs = TableClient.CreateQueryFilter(
            $"PartitionKey eq {partition} and RowKey ge {TableKeys.RefPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.RefPrefix)}");
        await foreach (var _ in clients.BlobsTable.QueryAsync<TableEntity>(refs, 1, ["RowKey"], cancellationToken))
        {
            return null;
        }
        if (dryRun)
        {
            return entry;
        }
        try
        {
            // The SDK answers a delete of a missing entity with its 404 response, not an exception: another collector won.
            if ((await clients.BlobsTable.DeleteEntityAsync(partition, TableKeys.ContentRow, entry.ETag, cancellationToken)).Status == 404)
            {
                return null;
            }
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            return null;
        }
        // No content row names the bytes any more, and every link to them went at least the grace period ago.
        await clients.Container.GetBlobClient(entry.BlobName).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        return entry;
    }

    private ContentRefEntity Reference(Digest digest, RepositoryName repository) => new()
    {
        PartitionKey = TableKeys.Content(digest),
        RowKey = TableKeys.RepositoryRef(repository),
        Created = time.GetUtcNow(),
    };

}
