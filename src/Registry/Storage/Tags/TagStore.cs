using Azure;
using Azure.Data.Tables;
using Registry.Oci;
using Registry.Storage.Events;

namespace Registry.Storage.Tags;

/// <summary>Where a tag points: the manifest's identity and, when small, its bytes (a pull by tag is then one read).</summary>
public sealed record TagTarget(Digest Digest, string MediaType, long Size, byte[]? InlineContent);

/// <summary>
/// The <c>tag:</c> rows of a repository partition. A tag is written in the transaction that pushes its manifest
/// (<see cref="Write"/>), so a tag never points at a manifest that is not there; it is removed alone by
/// <see cref="UntagAsync"/> or with its manifest.
/// </summary>
public sealed class TagStore(StorageClients clients, Outbox outbox, ReadCache cache, TimeProvider time)
{
    /// <summary>
    /// Where <paramref name="tag"/> points, or null when the repository has no such tag. May be answered from
    /// <see cref="ReadCache"/>: a tag moved through another instance is seen at most <see cref="ReadCacheOptions.Tags"/> late.
    /// </summary>
    public async Task<TagTarget?> FindAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var row = TableKeys.Tag(tag);
        if (cache.TryGet<TagTarget>(CachedKind.Tag, partition, row, out var known))
        {
            return known;
        }
        var stamp = cache.Begin(partition);
        var response = await clients.RepositoriesTable.GetEntityIfExistsAsync<TagEntity>(partition, row, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }
        var entity = response.Value!;
        if (Digest.TryParse(entity.Digest, out var digest) != DigestParse.Valid)
        {
            throw new InvalidDataException($"tag {tag} of {repository} holds a malformed digest");
        }
        var target = new TagTarget(digest, entity.MediaType, entity.Size, entity.Content);
        cache.Set(stamp, CachedKind.Tag, partition, row, target, entity.Content?.Length ?? 0);
        return target;
    }

    /// <summary>
    /// The write that points <paramref name="tag"/> at <paramref name="target"/>, for the transaction that pushes the
    /// manifest: an unconditional replace, so concurrent pushes of one tag serialise in the partition and the last one
    /// wins, with no read before the write. Call <see cref="Remember"/> once it committed, <see cref="Forget"/> if not.
    /// </summary>
    public static TableTransactionAction Write(RepositoryName repository, Tag tag, TagTarget target) =>
        new(TableTransactionActionType.UpsertReplace, new TagEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.Tag(tag),
            Digest = target.Digest.Value,
            MediaType = target.MediaType,
            Size = target.Size,
            Content = target.InlineContent,
        });

    /// <summary>Puts a tag this instance just wrote in its read cache, so a pull right after the push reads nothing.</summary>
    public void Remember(RepositoryName repository, Tag tag, TagTarget target) =>
        cache.Put(CachedKind.Tag, TableKeys.Repository(repository), TableKeys.Tag(tag), target, target.InlineContent?.Length ?? 0);

    /// <summary>Drops a tag from this instance's read cache (after a write that may or may not have happened).</summary>
    public void Forget(RepositoryName repository, string tagRow) => cache.Invalidate(CachedKind.Tag, TableKeys.Repository(repository), tagRow);

    /// <summary>
    /// The tags that point at <paramref name="digest"/>, as entities with the ETag they were read with, for a delete
    /// that must remove each only if it still points there. Reads every tag row of the repository (filtered in storage).
    /// </summary>
    public async Task<List<TableEntity>> PointingAtAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {partition} and RowKey ge {TableKeys.TagPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.TagPrefix)} and Digest eq {digest.Value}");
        var tags = new List<TableEntity>();
        await foreach (var tag in clients.RepositoriesTable.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            tags.Add(tag);
        }
        return tags;
    }

    /// <summary>
    /// Removes a tag (the manifest stays), with its outbox row. Null when removed; MANIFEST_UNKNOWN when there is no
    /// such tag; 503 UNAVAILABLE, changing nothing, when the tag moved while it was being removed.
    /// </summary>
    public async Task<OciError?> UntagAsync(RepositoryName repository, Tag tag, ChangeOrigin origin, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var current = await clients.RepositoriesTable.GetEntityIfExistsAsync<TagEntity>(
            partition, TableKeys.Tag(tag), ["PartitionKey", "RowKey", "Digest", "MediaType", "Size"], cancellationToken);
        if (!current.HasValue || Digest.TryParse(current.Value!.Digest, out var digest) != DigestParse.Valid)
        {
            return Unknown(repository, tag);
        }
        await outbox.MarkAsync(repository, cancellationToken);
        try
        {
            await clients.RepositoriesTable.SubmitTransactionAsync(
            [
                new(TableTransactionActionType.Delete, current.Value, current.Value.ETag),
                OutboxRows.Record(repository, OutboxActions.Untag, digest, tag, current.Value.MediaType, current.Value.Size, null, origin, time.GetUtcNow()),
            ], cancellationToken);
            return null;
        }
        catch (TableTransactionFailedException e) when (e.Status == 404)
        {
            return Unknown(repository, tag);
        }
        catch (TableTransactionFailedException e) when (e.Status == 412)
        {
            return new OciError(Failure.ChangedMeanwhile, $"tag {tag} moved while it was being deleted; nothing was deleted, try again");
        }
        finally
        {
            Forget(repository, TableKeys.Tag(tag));
        }
    }

    /// <summary>Tags after <paramref name="last"/> (exclusive) in lexical order, at most <paramref name="limit"/>.</summary>
    public IAsyncEnumerable<string> ListAsync(RepositoryName repository, string? last, int limit, CancellationToken cancellationToken) =>
        KeyRange.ListAsync(clients.RepositoriesTable, TableKeys.Repository(repository), TableKeys.TagPrefix, last ?? "", limit, static key => key, cancellationToken);

    private static OciError Unknown(RepositoryName repository, Tag tag) =>
        new(Failure.ManifestUnknown, $"{tag} is not a tag of repository {repository}");
}
