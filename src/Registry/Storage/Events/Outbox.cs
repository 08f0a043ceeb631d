using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage.Events;

/// <summary>
/// The event outbox of each repository partition, as the publisher reads and moves it. An event is an <c>event:</c>
/// row (written with its change); once a sink acknowledged it, it moves to a <c>sent:</c> row (kept for
/// <c>Events:Retention</c>, for listing and replay); an event a sink keeps rejecting moves to a <c>dead:</c> row. Each
/// move is one transaction of the partition, conditional on the ETag the publisher read, so of two publishers that
/// raced, one moves it and the other finds it gone. Partitions with rows in any of the three states are marked in
/// <c>~events</c> (<see cref="PartitionMarkers"/>), so the sweep finds them without scanning the table. One publisher
/// at a time drains a partition: it holds the <c>lease:events</c> row of the partition.
/// </summary>
public sealed class Outbox(StorageClients clients, TimeProvider time)
{
    private static readonly string[] Kept = [TableKeys.EventPrefix, TableKeys.SentPrefix, TableKeys.DeadPrefix];

    /// <summary>Events moved in one transaction: two actions each, of the 100 an entity-group transaction may hold.</summary>
    public const int MovesPerTransaction = 50;

    private readonly PartitionMarkers _markers = new(() => clients.RepositoriesTable, TableKeys.EventsPartition, time);

    /// <summary>Marks <paramref name="repository"/> as having events; call before the transaction that adds one.</summary>
    public Task MarkAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        _markers.MarkAsync(TableKeys.Repository(repository), cancellationToken);

    /// <summary>The repositories whose partitions have events (pending, sent or dead), as <see cref="TableKeys.Repository"/> keys.</summary>
    public IAsyncEnumerable<PartitionMarker> MarkersAsync(CancellationToken cancellationToken) => _markers.ListAsync(cancellationToken);

    /// <summary>Removes the marker of a partition with no event row left, once it settled.</summary>
    public async Task<bool> TryUnmarkAsync(PartitionMarker marker, CancellationToken cancellationToken)
    {
        // Only an empty partition loses its marker: each prefix is checked before the (conditional) removal.
        foreach (var prefix in Kept[..^1])
        {
            if (await AnyAsync(marker.Key, prefix, cancellationToken))
            {
                return false;
            }
        }
        return await _markers.TryRemoveAsync(marker, Kept[^1], cancellationToken);
    }

    /// <summary>The oldest pending events of <paramref name="repository"/>, at most <paramref name="max"/>, in commit order.</summary>
    public Task<List<EventEntity>> PendingAsync(RepositoryName repository, int max, CancellationToken cancellationToken) =>
        RowsAsync(TableKeys.Repository(repository), TableKeys.EventPrefix, null, max, cancellationToken);

    /// <summary>Rows of one state (<see cref="TableKeys.EventPrefix"/>, sent, dead) of a partition, oldest first, from <paramref name="since"/>.</summary>
    public async Task<List<EventEntity>> RowsAsync(string partition, string prefix, DateTimeOffset? since, int max, CancellationToken cancellationToken)
    {
        var lower = since is { } from ? $"{prefix}{from.UtcTicks:D19}" : prefix;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {lower} and RowKey lt {TableKeys.PrefixEnd(prefix)}");
        var rows = new List<EventEntity>();
        await foreach (var row in clients.RepositoriesTable.QueryAsync<EventEntity>(filter, Math.Min(max, 1000), cancellationToken: cancellationToken))
        {
            rows.Add(row);
            if (rows.Count >= max)
            {
                break;
            }
        }
        return rows;
    }

    /// <summary>
    /// Takes the partition's publishing lease for <paramref name="owner"/> until <paramref name="duration"/> from now, or
    /// null when another publisher holds it. A free partition costs one call (the insert); a lease left behind costs a
    /// read, and is taken over once it expired.
    /// </summary>
    public async Task<PublishingLease?> TryLeaseAsync(RepositoryName repository, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var until = time.GetUtcNow() + duration;
        var lease = new TableEntity(partition, TableKeys.EventLeaseRow) { ["Owner"] = owner, ["Until"] = until };
        try
        {
            var added = await clients.RepositoriesTable.AddEntityAsync(lease, cancellationToken);
            return new PublishingLease(partition, owner, added.Headers.ETag ?? ETag.All, until);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // held, or left behind: read whose it is
        }
        try
        {
            var current = await clients.RepositoriesTable.GetEntityIfExistsAsync<TableEntity>(partition, TableKeys.EventLeaseRow, cancellationToken: cancellationToken);
            if (!current.HasValue)
            {
                return null; // given up just now: its holder drained, or the next notice does
            }
            var held = current.Value!;
            if (held.GetString("Owner") != owner && held.GetDateTimeOffset("Until") is { } heldUntil && heldUntil > time.GetUtcNow())
            {
                return null;
            }
            var replaced = await clients.RepositoriesTable.UpdateEntityAsync(lease, held.ETag, TableUpdateMode.Replace, cancellationToken);
            return new PublishingLease(partition, owner, replaced.Headers.ETag ?? ETag.All, until);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return null; // another publisher took it, or gave it up, meanwhile
        }
    }

    /// <summary>
    /// Keeps <paramref name="lease"/> for <paramref name="duration"/> more once half of it has passed (before that, no
    /// call); false when it was lost (taken over after it expired): the holder must stop.
    /// </summary>
    public async Task<bool> RenewAsync(PublishingLease lease, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (lease.Until - now > duration / 2)
        {
            return true;
        }
        var until = now + duration;
        try
        {
            var replaced = await clients.RepositoriesTable.UpdateEntityAsync(
                new TableEntity(lease.Partition, TableKeys.EventLeaseRow) { ["Owner"] = lease.Owner, ["Until"] = until }, lease.ETag, TableUpdateMode.Replace, cancellationToken);
            lease.Extend(replaced.Headers.ETag ?? ETag.All, until);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>Gives <paramref name="lease"/> up, unless another publisher took it over meanwhile.</summary>
    public async Task ReleaseAsync(PublishingLease lease, CancellationToken cancellationToken)
    {
        try
        {
            await clients.RepositoriesTable.DeleteEntityAsync(lease.Partition, TableKeys.EventLeaseRow, lease.ETag, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            // taken over, or gone
        }
    }

    /// <summary>Gives the lease up when <paramref name="owner"/> holds it: for a holder that never heard storage grant it.</summary>
    public async Task ReleaseIfHeldAsync(RepositoryName repository, string owner, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var current = await clients.RepositoriesTable.GetEntityIfExistsAsync<TableEntity>(partition, TableKeys.EventLeaseRow, cancellationToken: cancellationToken);
        if (current.HasValue && current.Value!.GetString("Owner") == owner)
        {
            await ReleaseAsync(new PublishingLease(partition, owner, current.Value.ETag, default), cancellationToken);
        }
    }

    /// <summary>
    /// Moves acknowledged events to <c>sent:</c> rows. An event another publisher moved first is skipped. With
    /// <paramref name="release"/>, the lease is given up in the last move's transaction (one call, not two), or on its
    /// own when that transaction is full or failed; either way the lease is no longer this holder's when it returns.
    /// </summary>
    public async Task MarkSentAsync(IReadOnlyList<EventEntity> events, PublishingLease? release, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var chunks = events.Chunk(MovesPerTransaction).ToList();
        var releaseWithLast = release is not null && chunks.Count > 0 && chunks[^1].Length < MovesPerTransaction;
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            var actions = chunk.SelectMany(e => Move(e, TableKeys.SentPrefix, now, e.LastError)).ToList();
            var releasing = releaseWithLast && i == chunks.Count - 1;
            if (releasing)
            {
                actions.Add(new(TableTransactionActionType.Delete, new TableEntity(release!.Partition, TableKeys.EventLeaseRow), release.ETag));
            }
            try
            {
                await clients.RepositoriesTable.SubmitTransactionAsync(actions, cancellationToken);
                if (releasing)
                {
                    return;
                }
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 412 or 409)
            {
                // An event moved by another publisher, or (releasing) a lease taken over: each row on its own.
                foreach (var single in chunk)
                {
                    await TryMoveAsync(single, TableKeys.SentPrefix, null, cancellationToken);
                }
            }
        }
        if (release is not null)
        {
            await ReleaseAsync(release, cancellationToken);
        }
    }

    /// <summary>Counts a failed attempt on the event's row (the publisher retries it later); its ETag is updated.</summary>
    public async Task RecordFailureAsync(EventEntity row, string error, CancellationToken cancellationToken)
    {
        row.Attempts++;
        row.LastError = error.Length > 512 ? error[..512] : error;
        try
        {
            var response = await clients.RepositoriesTable.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken);
            row.ETag = response.Headers.ETag ?? row.ETag;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            // moved by another publisher meanwhile
        }
    }

    /// <summary>Moves an event the sinks keep rejecting to a <c>dead:</c> row, so the events after it go on.</summary>
    public Task DeadLetterAsync(EventEntity row, string reason, CancellationToken cancellationToken) =>
        TryMoveAsync(row, TableKeys.DeadPrefix, reason, cancellationToken);

    /// <summary>Deletes the <c>sent:</c> rows of a partition acknowledged before <paramref name="before"/>.</summary>
    public async Task<int> PruneSentAsync(string partition, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var upper = $"{TableKeys.SentPrefix}{before.UtcTicks:D19}";
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {TableKeys.SentPrefix} and RowKey lt {upper}");
        var removed = 0;
        await foreach (var row in clients.RepositoriesTable.QueryAsync<TableEntity>(filter, 1000, ["PartitionKey", "RowKey"], cancellationToken))
        {
            var response = await clients.RepositoriesTable.DeleteEntityAsync(partition, row.RowKey, row.ETag, cancellationToken);
            removed += response.Status == 404 ? 0 : 1;
        }
        return removed;
    }

    private async Task TryMoveAsync(EventEntity row, string prefix, string? reason, CancellationToken cancellationToken)
    {
        try
        {
            await clients.RepositoriesTable.SubmitTransactionAsync(Move(row, prefix, time.GetUtcNow(), reason ?? row.LastError), cancellationToken);
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 412 or 409)
        {
            // moved by another publisher meanwhile
        }
    }

    private static TableTransactionAction[] Move(EventEntity row, string prefix, DateTimeOffset now, string? reason)
    {
        var settled = new EventEntity
        {
            PartitionKey = row.PartitionKey,
            RowKey = TableKeys.Settled(prefix, row.RowKey),
            Id = row.Id,
            Action = row.Action,
            Repository = row.Repository,
            Digest = row.Digest,
            Tag = row.Tag,
            MediaType = row.MediaType,
            Size = row.Size,
            ArtifactType = row.ArtifactType,
            OccurredOn = row.OccurredOn,
            Actor = row.Actor,
            RequestId = row.RequestId,
            Host = row.Host,
            Method = row.Method,
            UserAgent = row.UserAgent,
            Attempts = row.Attempts,
            LastError = reason,
            SettledOn = now,
        };
        return
        [
            new(TableTransactionActionType.Delete, row, row.ETag),
            new(TableTransactionActionType.UpsertReplace, settled),
        ];
    }

    private async Task<bool> AnyAsync(string partition, string prefix, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {prefix} and RowKey lt {TableKeys.PrefixEnd(prefix)}");
        await foreach (var _ in clients.RepositoriesTable.QueryAsync<TableEntity>(filter, 1, ["RowKey"], cancellationToken))
        {
            return true;
        }
        return false;
    }
}
