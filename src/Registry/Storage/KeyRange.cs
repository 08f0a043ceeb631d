using Azure.Data.Tables;

namespace Registry.Storage;

/// <summary>One page of keys, and whether more may follow it (then a next page may still turn out empty).</summary>
public sealed record KeyPage(IReadOnlyList<string> Keys, bool More);

/// <summary>Pages through the row keys of one partition that share a prefix, in key order.</summary>
public static class KeyRange
{
    /// <summary>The most rows one Table query answers with.</summary>
    public const int MaxPerPage = 1000;

    public static async IAsyncEnumerable<string> ListAsync(
        TableClient table, string partition, string prefix, string after, int limit, Func<string, string> decode,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (limit <= 0)
        {
            yield break;
        }
        var count = 0;
        await foreach (var entity in table.QueryAsync<TableEntity>(Filter(partition, prefix, after), Math.Min(limit, MaxPerPage), ["RowKey"], cancellationToken))
        {
            yield return decode(entity.RowKey[prefix.Length..]);
            if (++count >= limit)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// At most <paramref name="limit"/> keys after <paramref name="after"/>, and whether more follow, in one query when
    /// storage answers it whole. Up to 999 keys it asks for one key past the page; a page of 1,000 (the most a query
    /// answers) learns it from the query's continuation instead of a second query, so <see cref="KeyPage.More"/> may be
    /// true with nothing left (Azure Table may continue a query that has no more rows; Azurite does not).
    /// </summary>
    public static async Task<KeyPage> PageAsync(
        TableClient table, string partition, string prefix, string after, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(table);
        var keys = new List<string>(Math.Clamp(limit, 0, MaxPerPage));
        if (limit <= 0)
        {
            return new KeyPage(keys, false);
        }
        var pages = table.QueryAsync<TableEntity>(Filter(partition, prefix, after), Math.Min(limit + 1, MaxPerPage), ["RowKey"], cancellationToken).AsPages();
        await foreach (var page in pages)
        {
            foreach (var entity in page.Values)
            {
                if (keys.Count == limit)
                {
                    return new KeyPage(keys, true);
                }
                keys.Add(entity.RowKey[prefix.Length..]);
            }
            if (keys.Count == limit)
            {
                return new KeyPage(keys, page.ContinuationToken is not null);
            }
        }
        return new KeyPage(keys, false);
    }

    private static string Filter(string partition, string prefix, string after)
    {
        var lower = prefix + after;
        return prefix.Length == 0
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {lower}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {lower} and RowKey lt {TableKeys.PrefixEnd(prefix)}");
    }
}
