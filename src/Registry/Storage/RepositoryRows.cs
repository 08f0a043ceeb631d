using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage;

/// <summary>What one repository holds, as its partition says: counts, and the bytes it links.</summary>
public sealed record RepositoryUsage(string Repository, int Tags, int Manifests, int Blobs, long LinkedBytes, IReadOnlyDictionary<Digest, long> Linked);

/// <summary>
/// Reads and clears a whole repository partition (what <c>registry-admin usage</c> and <c>repo delete</c> need). Both
/// read every row of the partition: admin work, never on a request's path.
/// </summary>
public sealed class RepositoryRows(StorageClients clients, Catalog catalog)
{
    /// <summary>The digests named by the rows under <paramref name="prefix"/> (<c>manifest:</c>, <c>blob:</c>...), in key order.</summary>
    public async IAsyncEnumerable<Digest> DigestsAsync(RepositoryName repository, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var key in KeyRange.ListAsync(clients.RepositoriesTable, TableKeys.Repository(repository), prefix, "", int.MaxValue, static k => k, cancellationToken))
        {
            if (Digest.TryParse(key, out var digest) == DigestParse.Valid)
            {
                yield return digest;
            }
        }
    }

    /// <summary>The upload ids of the repository's open sessions.</summary>
    public IAsyncEnumerable<string> UploadsAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        KeyRange.ListAsync(clients.RepositoriesTable, TableKeys.Repository(repository), TableKeys.UploadPrefix, "", int.MaxValue, static k => k, cancellationToken);

    /// <summary>Tags, manifests and linked blobs (with their sizes) of <paramref name="repository"/>.</summary>
    public async Task<RepositoryUsage> UsageAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        int tags = 0, manifests = 0;
        var linked = new Dictionary<Digest, long>();
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {partition} and RowKey ge {TableKeys.BlobLinkPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.TagPrefix)}");
        await foreach (var row in clients.RepositoriesTable.QueryAsync<TableEntity>(filter, 1000, ["RowKey", "Size"], cancellationToken))
        {
            if (row.RowKey.StartsWith(TableKeys.TagPrefix, StringComparison.Ordinal))
            {
                tags++;
            }
            else if (row.RowKey.StartsWith(TableKeys.ManifestPrefix, StringComparison.Ordinal))
            {
                manifests++;
            }
            else if (row.RowKey.StartsWith(TableKeys.BlobLinkPrefix, StringComparison.Ordinal)
                && Digest.TryParse(row.RowKey[TableKeys.BlobLinkPrefix.Length..], out var digest) == DigestParse.Valid)
            {
                linked[digest] = row.GetInt64("Size") ?? 0;
            }
        }
        return new RepositoryUsage(repository.Value, tags, manifests, linked.Count, linked.Values.Sum(), linked);
    }

    /// <summary>The bytes the storage account holds for content, each digest once (every <c>content</c> row of table <c>blobs</c>).</summary>
    public async Task<(int Digests, long Bytes)> StoredContentAsync(CancellationToken cancellationToken)
    {
        var (digests, bytes) = (0, 0L);
        await foreach (var row in clients.BlobsTable.QueryAsync<TableEntity>(
            $"RowKey eq '{TableKeys.ContentRow}'", 1000, ["Size"], cancellationToken))
        {
            digests++;
            bytes += row.GetInt64("Size") ?? 0;
        }
        return (digests, bytes);
    }

    /// <summary>
    /// Removes what is left of a repository once its manifests, links and uploads went through their own deletes: the
    /// rows under <paramref name="prefixes"/> (stale <c>usedby</c> rows, outbox rows) and its catalog entry. Reviews stay
    /// for garbage collection to take up. Returns the rows removed.
    /// </summary>
    public async Task<int> ClearAsync(RepositoryName repository, IReadOnlyList<string> prefixes, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var removed = 0;
        foreach (var prefix in prefixes)
        {
            await foreach (var key in KeyRange.ListAsync(clients.RepositoriesTable, partition, prefix, "", int.MaxValue, static k => k, cancellationToken))
            {
                var response = await clients.RepositoriesTable.DeleteEntityAsync(partition, prefix + key, ETag.All, cancellationToken);
                removed += response.Status == 404 ? 0 : 1;
            }
        }
        await catalog.RemoveAsync(repository, cancellationToken);
        return removed;
    }
}
