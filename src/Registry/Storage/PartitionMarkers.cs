using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;

namespace Registry.Storage;

/// <summary>A marker row: a partition that has work waiting, and when storage last wrote the marker.</summary>
public sealed record PartitionMarker(string Key, ETag ETag, DateTimeOffset? WrittenAt);

/// <summary>
/// An index of the partitions of a table that have work waiting (garbage-collection reviews, unpublished events), so
/// the work can be found without scanning every partition: one row per such partition in a marker partition of the
/// same table (<c>~gc</c>, <c>~events</c>), row key = the partition's key.
///
/// <para>The protocol, which keeps every piece of work findable although Table has no cross-partition transaction: a
/// writer upserts the marker <i>before</i> the transaction that adds work to the partition. A reader removes a marker
/// only when the partition has no work left and the marker was last written more than <see cref="Settle"/> ago,
/// conditionally on the ETag it read: every writer that wrote it has finished its transaction by then (a request lives
/// minutes at most), and a writer that writes it again changes its ETag. An instance writes a given marker at most once
/// per <see cref="Refresh"/>, which stays far inside that margin. Ages compare storage's <c>Timestamp</c> with the
/// reader's clock: instances keep their clocks within minutes of storage's.</para>
/// </summary>
public sealed class PartitionMarkers(Func<TableClient> table, string markerPartition, TimeProvider time)
{
    /// <summary>How long after its last write a marker may be removed.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromMinutes(15);

    /// <summary>How often one instance writes the marker of a partition it keeps adding work to.</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _marked = new(StringComparer.Ordinal);

    /// <summary>Marks the partition <paramref name="key"/>; call before the transaction that adds work to it.</summary>
    public async Task MarkAsync(string key, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_marked.TryGetValue(key, out var last) && now - last < Refresh)
        {
            return;
        }
        await table().UpsertEntityAsync(new TableEntity(markerPartition, key), TableUpdateMode.Replace, cancellationToken);
        _marked[key] = now;
    }

    /// <summary>The marked partitions, in key order.</summary>
    public async IAsyncEnumerable<PartitionMarker> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var row in table().QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {markerPartition}"), 1000, ["RowKey", "Timestamp"], cancellationToken))
        {
            yield return new PartitionMarker(row.RowKey, row.ETag, row.Timestamp);
        }
    }

    /// <summary>
    /// Removes <paramref name="marker"/> when it settled and its partition has no row under <paramref name="workPrefix"/>
    /// left (see the class summary). True when removed.
    /// </summary>
    public async Task<bool> TryRemoveAsync(PartitionMarker marker, string workPrefix, CancellationToken cancellationToken)
    {
        if (marker.WrittenAt is not { } written || time.GetUtcNow() - written < Settle)
        {
            return false;
        }
        var work = TableClient.CreateQueryFilter(
            $"PartitionKey eq {marker.Key} and RowKey ge {workPrefix} and RowKey lt {TableKeys.PrefixEnd(workPrefix)}");
        await foreach (var _ in table().QueryAsync<TableEntity>(work, 1, ["RowKey"], cancellationToken))
        {
            return false;
        }
        try
        {
            return (await table().DeleteEntityAsync(markerPartition, marker.Key, marker.ETag, cancellationToken)).Status != 404;
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            return false;
        }
    }
}
