using Azure.Data.Tables;

namespace Registry.Storage;

/// <summary>Pages through the row keys of one partition that share a prefix, in key order.</summary>
public static class KeyRange
{
    private const int MaxPerPage = 1000;

    public static async IAsyncEnumerable<string> ListAsync(
        TableClient table, string partition, string prefix, string after, int limit, Func<string, string> decode,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (limit <= 0)
        {
            yield break;
        }
        var lower = prefix + after;
        var filter = prefix.Length == 0
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {lower}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {lower} and RowKey lt {TableKeys.PrefixEnd(prefix)}");
        var count = 0;
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, Math.Min(limit, MaxPerPage), ["RowKey"], cancellationToken))
        {
            yield return decode(entity.RowKey[prefix.Length..]);
            if (++count >= limit)
            {
                yield break;
            }
        }
    }
}
