using Azure;
using Azure.Data.Tables;
using Registry.Oci;
using Registry.Storage.Events;
using Registry.Storage.Policies;

namespace Registry.Storage.Tags;

/// <summary>Where a tag points: the manifest's identity and, when small, its bytes (a pull by tag is then one read).</summary>
public sealed record TagTarget(Digest Digest, string MediaType, long Size, byte[]? InlineContent);

/// <summary>A tag as a move or a lock must see it: read from storage just now, with its ETag. No digest: there is no such tag.</summary>
public sealed record TagState(Tag Tag, Digest? Digest, bool Locked, ETag ETag);

/// <summary>One move of a tag, as its history records it. No digest: the move deleted the tag; no previous: it created it.</summary>
public sealed record TagMove(Digest? Digest, Digest? Previous, string Action, string? Actor, DateTimeOffset At);

/// <summary>What a tag move records as its kind.</summary>
public static class TagMoveActions
{
    public const string Push = "push";
    public const string Delete = "delete";
    public const string Rollback = "rollback";
    public const string Restore = "restore";
}

/// <summary>
/// The <c>tag:</c> and <c>taghistory:</c> rows of a repository partition. A tag is written in the transaction that
/// pushes its manifest (<see cref="Move"/>), so a tag never points at a manifest that is not there; it is removed alone
/// by <see cref="UntagAsync"/> or with its manifest. Every move is conditional on the row as read, refused on a locked
/// tag, and recorded with what it replaced (see <see cref="TableKeys"/>, "Moving a tag").
/// </summary>
public sealed class TagStore(StorageClients clients, Outbox outbox, ImmutableTags immutable, RepositoryLocks locks, ReadCache cache, TimeProvider time)
{
    /// <summary>How many times a push reads a tag again after a concurrent move of it, before it answers 503.</summary>
    public const int MaxMoveAttempts = 10;

    /// <summary>Most history rows one listing returns.</summary>
    public const int MaxHistory = 1000;

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
        var target = new TagTarget(ParseDigest(repository, tag, entity.Digest), entity.MediaType, entity.Size, entity.Content);
        cache.Set(stamp, CachedKind.Tag, partition, row, target, entity.Content?.Length ?? 0);
        return target;
    }

    /// <summary>The tag's row as storage has it now (never the cache), for a move or a lock to be conditional on.</summary>
    public async Task<TagState> ReadAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken)
    {
        var response = await clients.RepositoriesTable.GetEntityIfExistsAsync<TagEntity>(
            TableKeys.Repository(repository), TableKeys.Tag(tag), ["Digest", "Locked"], cancellationToken);
        return response.HasValue
            ? new TagState(tag, ParseDigest(repository, tag, response.Value!.Digest), response.Value.Locked == true, response.Value.ETag)
            : new TagState(tag, null, false, default);
    }

    /// <summary>
    /// What a push starts its move from: the row as read now when this instance knows the tag (its read cache holds it),
    /// else "no such tag", which saves the read for a new tag: the move is then an insert, which fails (409) if the tag
    /// does exist, and the push reads it then and tries again.
    /// </summary>
    public async Task<TagState> ReadIfKnownAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken) =>
        cache.TryGet<TagTarget>(CachedKind.Tag, TableKeys.Repository(repository), TableKeys.Tag(tag), out _)
            ? await ReadAsync(repository, tag, cancellationToken)
            : new TagState(tag, null, false, default);

    /// <summary>
    /// 403 DENIED when pointing <paramref name="state"/>'s tag at <paramref name="target"/> (null: deleting it) would
    /// create or move a tag of a locked repository, move a locked tag, an existing tag an immutability rule covers, or
    /// (<paramref name="createOnly"/>: the caller may only create tags) any existing tag; null when the move may go ahead.
    /// </summary>
    internal async ValueTask<OciError?> RefuseMoveAsync(
        RepositoryName repository, TagState state, Digest? target, CancellationToken cancellationToken, bool createOnly = false)
    {
        if (state.Digest == target && target is not null)
        {
            return null;
        }
        if (await RefuseLockedRepositoryAsync(repository, cancellationToken) is { } locked)
        {
            return locked;
        }
        if (state.Digest is null)
        {
            return null;
        }
        if (createOnly)
        {
            return new OciError(Failure.Denied,
                $"tag {state.Tag} of {repository} exists (it points at {state.Digest}) and this caller may only create tags (scope action 'create'); moving it needs push");
        }
        var verb = target is null ? "deleted" : "moved";
        if (state.Locked)
        {
            return LockedTag(repository, state.Tag, verb);
        }
        return await immutable.MatchAsync(repository, state.Tag, cancellationToken) is { } rule
            ? new OciError(Failure.Denied, $"tag {state.Tag} of {repository} is immutable (rule '{rule}'): it was pushed once and cannot be {verb}")
            : null;
    }

    /// <summary>
    /// 403 DENIED when one of <paramref name="tags"/> (rows <see cref="PointingAtAsync"/> returned) may not be deleted with
    /// the manifest they point at, <paramref name="digest"/>: it is locked, or immutable; else null.
    /// </summary>
    internal async ValueTask<OciError?> RefuseRemovalAsync(RepositoryName repository, Digest digest, IEnumerable<TableEntity> tags, CancellationToken cancellationToken)
    {
        foreach (var row in tags)
        {
            var state = new TagState(TagOfRow(row.RowKey), digest, row.GetBoolean("Locked") == true, row.ETag);
            if (await RefuseMoveAsync(repository, state, null, cancellationToken) is { } refused)
            {
                return refused with { Detail = $"manifest {digest} cannot be deleted: {refused.Detail}" };
            }
        }
        return null;
    }

    /// <summary>403 DENIED when a repository lock (<see cref="RepositoryLocks"/>) covers <paramref name="repository"/>: nothing in it moves or goes.</summary>
    internal async ValueTask<OciError?> RefuseLockedRepositoryAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        await locks.MatchAsync(repository, cancellationToken) is { } pattern ? new OciError(Failure.Denied, RepositoryLocks.Refusal(repository, pattern)) : null;

    /// <summary>
    /// The writes that point <paramref name="state"/>'s tag at <paramref name="target"/> in the change's transaction: the
    /// tag row, replaced only if its ETag is still the one read (inserted only if there was none), and the history row
    /// when the tag moves. The first action is the tag's. Take <see cref="BeginMove"/> before; call <see cref="Remember"/>
    /// once it committed, <see cref="Forget"/> if not.
    /// </summary>
    public static List<TableTransactionAction> Move(
        RepositoryName repository, TagState state, TagTarget target, string action, ChangeOrigin origin, DateTimeOffset now)
    {
        var entity = new TagEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.Tag(state.Tag),
            Digest = target.Digest.Value,
            MediaType = target.MediaType,
            Size = target.Size,
            Content = target.InlineContent,
            Locked = state.Locked ? true : null,
        };
        List<TableTransactionAction> actions = state.Digest is null
            ? [new(TableTransactionActionType.Add, entity)]
            : [new(TableTransactionActionType.UpdateReplace, entity, state.ETag)];
        if (state.Digest != target.Digest)
        {
            actions.Add(History(repository, state.Tag, target.Digest, state.Digest, action, origin, now));
        }
        return actions;
    }

    /// <summary>True when the tag's row is no longer the one <paramref name="state"/> read: a move conditional on it failed for that.</summary>
    public async Task<bool> ChangedSinceAsync(RepositoryName repository, TagState state, CancellationToken cancellationToken)
    {
        var now = await ReadAsync(repository, state.Tag, cancellationToken);
        return now.ETag != state.ETag || now.Digest != state.Digest;
    }

    /// <summary>Forgets the cached tag before a move of it is written; the stamp is <see cref="Remember"/>'s.</summary>
    public ReadCache.Stamp BeginMove(RepositoryName repository, Tag tag) =>
        cache.BeginChange(CachedKind.Tag, TableKeys.Repository(repository), TableKeys.Tag(tag));

    /// <summary>
    /// Puts a tag this instance just moved in its read cache, so a pull right after the push reads nothing, unless
    /// another change of the repository came through this instance meanwhile (then which one storage has is unknown here).
    /// </summary>
    public void Remember(ReadCache.Stamp stamp, RepositoryName repository, Tag tag, TagTarget target) =>
        cache.PutAfter(stamp, CachedKind.Tag, TableKeys.Repository(repository), TableKeys.Tag(tag), target, target.InlineContent?.Length ?? 0);

    /// <summary>Drops a tag from this instance's read cache (after a write that may or may not have happened).</summary>
    public void Forget(RepositoryName repository, string tagRow) => cache.Invalidate(CachedKind.Tag, TableKeys.Repository(repository), tagRow);

    /// <summary>
    /// The tags that point at <paramref name="digest"/>, as entities with the ETag they were read with (and Locked), for a
    /// delete that must remove each only if it still points there. Reads every tag row of the repository (filtered in storage).
    /// </summary>
    public async Task<List<TableEntity>> PointingAtAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {partition} and RowKey ge {TableKeys.TagPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.TagPrefix)} and Digest eq {digest.Value}");
        var tags = new List<TableEntity>();
        await foreach (var tag in clients.RepositoriesTable.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey", "Locked"], cancellationToken: cancellationToken))
        {
            tags.Add(tag);
        }
        return tags;
    }

    /// <summary>
    /// The delete of a tag row <see cref="PointingAtAsync"/> returned, conditional on its ETag, and its history row: the
    /// pair a manifest delete submits for each of its tags.
    /// </summary>
    public static TableTransactionAction[] Removal(RepositoryName repository, TableEntity tag, Digest digest, ChangeOrigin origin, DateTimeOffset now) =>
    [
        new(TableTransactionActionType.Delete, tag, tag.ETag),
        History(repository, TagOfRow(tag.RowKey), null, digest, TagMoveActions.Delete, origin, now),
    ];

    /// <summary>The tag a <c>tag:</c> row key names.</summary>
    public static Tag TagOfRow(string rowKey) =>
        Tag.TryParse(rowKey[TableKeys.TagPrefix.Length..], out var tag) ? tag : throw new InvalidDataException($"row {rowKey} names no valid tag");

    /// <summary>
    /// Removes a tag (the manifest stays), with its outbox and history rows. The digest it pointed at when removed; MANIFEST_UNKNOWN when
    /// there is no such tag; 403 DENIED when it is locked or immutable; 503 UNAVAILABLE, changing nothing, when the tag moved while it
    /// was being removed.
    /// </summary>
    /// <param name="decidedOn">Retention's form: remove the tag only if its row is still this one (a tag pushed since stays).</param>
    public async Task<Outcome<Digest>> UntagAsync(
        RepositoryName repository, Tag tag, ChangeOrigin origin, CancellationToken cancellationToken, ETag? decidedOn = null)
    {
        var partition = TableKeys.Repository(repository);
        var current = await clients.RepositoriesTable.GetEntityIfExistsAsync<TagEntity>(
            partition, TableKeys.Tag(tag), ["PartitionKey", "RowKey", "Digest", "MediaType", "Size", "Locked"], cancellationToken);
        if (!current.HasValue || Digest.TryParse(current.Value!.Digest, out var digest) != DigestParse.Valid)
        {
            return Unknown(repository, tag);
        }
        if (await RefuseMoveAsync(repository, new TagState(tag, digest, current.Value.Locked == true, current.Value.ETag), null, cancellationToken) is { } refused)
        {
            return refused;
        }
        if (decidedOn is { } decided && decided != current.Value.ETag)
        {
            return new OciError(Failure.ChangedMeanwhile, $"tag {tag} was pushed again after it was examined; it stays");
        }
        await outbox.MarkAsync(repository, cancellationToken);
        var now = time.GetUtcNow();
        try
        {
            await clients.RepositoriesTable.SubmitTransactionAsync(
            [
                new(TableTransactionActionType.Delete, current.Value, current.Value.ETag),
                History(repository, tag, null, digest, TagMoveActions.Delete, origin, now),
                OutboxRows.Record(repository, OutboxActions.Untag, digest, tag, current.Value.MediaType, current.Value.Size, null, origin, now),
            ], cancellationToken);
            return digest;
        }
        catch (TableTransactionFailedException e) when (e.Status == 404)
        {
            return Unknown(repository, tag);
        }
        catch (TableTransactionFailedException e) when (e.Status == 412)
        {
            return (await ReadAsync(repository, tag, cancellationToken)).Locked
                ? LockedTag(repository, tag, "deleted")
                : new OciError(Failure.ChangedMeanwhile, $"tag {tag} moved while it was being deleted; nothing was deleted, try again");
        }
        finally
        {
            Forget(repository, TableKeys.Tag(tag));
        }
    }

    /// <summary>
    /// Locks or unlocks a tag: a merge conditional on the row as read, so a push that read the row before cannot move it
    /// after. Done when set (also when it already was so); MANIFEST_UNKNOWN when there is no such tag.
    /// </summary>
    public async Task<Outcome<Done>> SetLockAsync(RepositoryName repository, Tag tag, bool locked, CancellationToken cancellationToken) =>
        await RowLock.SetAsync(clients.RepositoriesTable, TableKeys.Repository(repository), TableKeys.Tag(tag), locked, cancellationToken)
            ? new Done()
            : Unknown(repository, tag);

    /// <summary>The newest <paramref name="limit"/> moves of <paramref name="tag"/>, newest first.</summary>
    public async Task<List<TagMove>> HistoryAsync(RepositoryName repository, Tag tag, int limit, CancellationToken cancellationToken)
    {
        var prefix = TableKeys.TagHistoryOf(tag);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {TableKeys.Repository(repository)} and RowKey gt {prefix} and RowKey lt {TableKeys.PrefixEnd(prefix)}");
        var moves = new List<TagMove>();
        await foreach (var row in clients.RepositoriesTable.QueryAsync<TagHistoryEntity>(filter, Math.Min(limit, MaxHistory), cancellationToken: cancellationToken))
        {
            moves.Add(new TagMove(OptionalDigest(row.Digest), OptionalDigest(row.Previous), row.Action, row.Actor, row.At));
            if (moves.Count >= limit)
            {
                break;
            }
        }
        return moves;
    }

    /// <summary>The newest move of every tag the repository's history records (one query over all its history; admin work).</summary>
    public async Task<List<(Tag Tag, TagMove Move)>> LatestMovesAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {TableKeys.Repository(repository)} and RowKey gt {TableKeys.TagHistoryPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.TagHistoryPrefix)}");
        var latest = new List<(Tag, TagMove)>();
        string? last = null;
        await foreach (var row in clients.RepositoriesTable.QueryAsync<TagHistoryEntity>(filter, MaxHistory, cancellationToken: cancellationToken))
        {
            // taghistory:<tag>:<inverted ticks>:<id>: a tag's rows are together, its newest first.
            var name = row.RowKey[TableKeys.TagHistoryPrefix.Length..].Split(':')[0];
            if (name != last && Tag.TryParse(name, out var tag))
            {
                latest.Add((tag, new TagMove(OptionalDigest(row.Digest), OptionalDigest(row.Previous), row.Action, row.Actor, row.At)));
            }
            last = name;
        }
        return latest;
    }

    /// <summary>Every tag of the repository with where it points, when it last moved and whether it is locked (one query).</summary>
    public Task<List<(Tag Tag, Digest Digest, DateTimeOffset Moved, bool Locked, ETag ETag)>> ListDetailedAsync(
        RepositoryName repository, CancellationToken cancellationToken) =>
        ListDetailedAsync(clients.RepositoriesTable, repository, cancellationToken);

    /// <summary>The same of the repositories table <paramref name="table"/> of any account (a replica reads its primary's).</summary>
    public static async Task<List<(Tag Tag, Digest Digest, DateTimeOffset Moved, bool Locked, ETag ETag)>> ListDetailedAsync(
        TableClient table, RepositoryName repository, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(table);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {TableKeys.Repository(repository)} and RowKey ge {TableKeys.TagPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.TagPrefix)}");
        var tags = new List<(Tag, Digest, DateTimeOffset, bool, ETag)>();
        await foreach (var row in table.QueryAsync<TableEntity>(
            filter, 1000, ["RowKey", "Digest", "Locked", "Timestamp"], cancellationToken))
        {
            if (Digest.TryParse(row.GetString("Digest"), out var digest) == DigestParse.Valid)
            {
                tags.Add((TagOfRow(row.RowKey), digest, row.Timestamp ?? DateTimeOffset.MinValue, row.GetBoolean("Locked") == true, row.ETag));
            }
        }
        return tags;
    }

    /// <summary>Tags after <paramref name="last"/> (exclusive) in lexical order, at most <paramref name="limit"/>.</summary>
    public IAsyncEnumerable<string> ListAsync(RepositoryName repository, string? last, int limit, CancellationToken cancellationToken) =>
        KeyRange.ListAsync(clients.RepositoriesTable, TableKeys.Repository(repository), TableKeys.TagPrefix, last ?? "", limit, static key => key, cancellationToken);

    /// <summary>At most <paramref name="limit"/> tags after <paramref name="last"/> (exclusive) in lexical order, and whether more may follow (<see cref="KeyRange.PageAsync"/>).</summary>
    public Task<KeyPage> PageAsync(RepositoryName repository, string? last, int limit, CancellationToken cancellationToken) =>
        KeyRange.PageAsync(clients.RepositoriesTable, TableKeys.Repository(repository), TableKeys.TagPrefix, last ?? "", limit, cancellationToken);

    private static TableTransactionAction History(
        RepositoryName repository, Tag tag, Digest? digest, Digest? previous, string action, ChangeOrigin origin, DateTimeOffset now) =>
        new(TableTransactionActionType.Add, new TagHistoryEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.TagHistory(tag, now, Guid.NewGuid().ToString("N")),
            Digest = digest?.Value ?? "",
            Previous = previous?.Value ?? "",
            Action = action,
            Actor = origin.Actor,
            At = now,
        });

    private static Digest ParseDigest(RepositoryName repository, Tag tag, string text) =>
        Digest.TryParse(text, out var digest) == DigestParse.Valid
            ? digest
            : throw new InvalidDataException($"tag {tag} of {repository} holds a malformed digest");

    private static Digest? OptionalDigest(string text) => Digest.TryParse(text, out var digest) == DigestParse.Valid ? digest : null;

    private static OciError LockedTag(RepositoryName repository, Tag tag, string verb) =>
        new(Failure.Denied, $"tag {tag} of {repository} is locked and cannot be {verb}; 'registry-admin unlock {repository}:{tag}' unlocks it");

    private static OciError Unknown(RepositoryName repository, Tag tag) =>
        new(Failure.ManifestUnknown, $"{tag} is not a tag of repository {repository}");
}
