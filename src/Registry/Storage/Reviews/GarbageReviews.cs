using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage.Reviews;

/// <summary>One review: what may have become garbage, and when the change that made it so was recorded.</summary>
public sealed record Review(string Partition, string RowKey, ETag ETag, Digest Digest, DateTimeOffset RecordedAt, ReviewEntity Row);

/// <summary>
/// The garbage collector's queue: what may have become garbage is written down where it happened, so a collection
/// run reads only what changed since the last (its cost grows with churn, not with the registry's size).
///
/// <para>A review row goes into the same transaction as the change that may make something garbage: a blob linked
/// into a repository (it may never be used), a manifest deleted (what it used may be unused now), a reference to a
/// digest's content removed (table <c>blobs</c>). Its key holds the time of the change; the collector takes it up only
/// after the grace period, re-decides from what storage holds then, and deletes conditionally.</para>
///
/// <para>The partitions with reviews are found through <see cref="PartitionMarkers"/> (partition <c>~gc</c> of the
/// same table), so a run reads no partition that has nothing to review.</para>
/// </summary>
public sealed class GarbageReviews(StorageClients clients, TimeProvider time)
{
    private readonly PartitionMarkers _repositories = new(() => clients.RepositoriesTable, TableKeys.CollectionPartition, time);
    private readonly PartitionMarkers _contents = new(() => clients.BlobsTable, TableKeys.CollectionPartition, time);

    /// <summary>Marks <paramref name="repository"/> as having reviews; call before the transaction that adds one.</summary>
    public Task MarkRepositoryAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        _repositories.MarkAsync(TableKeys.Repository(repository), cancellationToken);

    /// <summary>Marks <paramref name="digest"/>'s content partition as having a review; call before the transaction that adds it.</summary>
    public Task MarkContentAsync(Digest digest, CancellationToken cancellationToken) =>
        _contents.MarkAsync(TableKeys.Content(digest), cancellationToken);

    /// <summary>The review of a link just written, for the transaction that writes it.</summary>
    public TableTransactionAction LinkReview(RepositoryName repository, Digest digest) =>
        Upsert(new ReviewEntity { PartitionKey = TableKeys.Repository(repository), RowKey = TableKeys.LinkReview(time.GetUtcNow(), digest) });

    /// <summary>
    /// The review of what a deleted manifest used, for the transaction that deletes it: the manifest's bytes go with it
    /// (inline, or the name of the blob that holds them), since its row will be gone when the review is taken up. A
    /// soft-deleted manifest's review is keyed at the end of its restore window (<paramref name="keptFor"/> after now),
    /// so the collector takes it up only a grace period after that.
    /// </summary>
    public TableTransactionAction ManifestReview(
        RepositoryName repository, Digest digest, string mediaType, byte[]? content, string? contentBlob, TimeSpan keptFor)
    {
        var now = time.GetUtcNow();
        return Upsert(new ReviewEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.ManifestReview(now + keptFor, digest),
            MediaType = mediaType,
            Content = content,
            ContentBlob = contentBlob,
            Deleted = keptFor > TimeSpan.Zero ? now : null,
        });
    }

    /// <summary>
    /// The review of a digest's content, for the transaction (in its partition) that removes a reference to it, with the
    /// blob its content row names (so a collector killed between deleting the row and the bytes finishes the bytes).
    /// </summary>
    public TableTransactionAction ContentReview(Digest digest, string? blobName) =>
        Upsert(new ReviewEntity { PartitionKey = TableKeys.Content(digest), RowKey = TableKeys.ContentReview(time.GetUtcNow()), ContentBlob = blobName });

    /// <summary>The marked repositories (<see cref="TableKeys.Repository"/> keys) or digests, in key order.</summary>
    public IAsyncEnumerable<PartitionMarker> MarkersAsync(bool content, CancellationToken cancellationToken) =>
        (content ? _contents : _repositories).ListAsync(cancellationToken);

    /// <summary>The reviews under <paramref name="prefix"/> of a marked partition recorded before <paramref name="before"/>, oldest first.</summary>
    public async IAsyncEnumerable<Review> DueAsync(
        bool content, string partition, string prefix, DateTimeOffset before, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var table = content ? clients.BlobsTable : clients.RepositoriesTable;
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {partition} and RowKey gt {prefix} and RowKey lt {TableKeys.ReviewsBefore(prefix, before)}");
        await foreach (var row in table.QueryAsync<ReviewEntity>(filter, 1000, cancellationToken: cancellationToken))
        {
            var rest = row.RowKey[prefix.Length..];
            if (!long.TryParse(rest.AsSpan(0, Math.Min(19, rest.Length)), out var ticks))
            {
                continue;
            }
            var digestText = rest.Length > 20 ? rest[20..] : partition;
            if (Digest.TryParse(digestText, out var digest) == DigestParse.Valid)
            {
                yield return new Review(partition, row.RowKey, row.ETag, digest, new DateTimeOffset(ticks, TimeSpan.Zero), row);
            }
        }
    }

    /// <summary>Removes a review once it was acted on; one that another collector removed first is no error.</summary>
    public async Task CompleteAsync(bool content, Review review, CancellationToken cancellationToken)
    {
        var table = content ? clients.BlobsTable : clients.RepositoriesTable;
        try
        {
            await table.DeleteEntityAsync(review.Partition, review.RowKey, review.ETag, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            // Written again since it was read (the same change recorded twice): it stays for the next run. Or gone: a
            // restore of the soft-deleted manifest it was about removed it.
        }
    }

    /// <summary>Removes <paramref name="marker"/> once its partition has no review left and it settled (<see cref="PartitionMarkers"/>).</summary>
    public Task<bool> TryUnmarkAsync(bool content, PartitionMarker marker, CancellationToken cancellationToken) =>
        (content ? _contents : _repositories).TryRemoveAsync(marker, TableKeys.ReviewPrefix, cancellationToken);

    private static TableTransactionAction Upsert(ReviewEntity row) => new(TableTransactionActionType.UpsertReplace, row);
}
