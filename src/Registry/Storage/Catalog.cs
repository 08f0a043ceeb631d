using System.Collections.Concurrent;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage;

/// <summary>The list of repositories (partition <c>~catalog</c>), in lexical order.</summary>
public sealed class Catalog(StorageClients clients, TimeProvider time)
{
    // Repositories this process already recorded: saves a write per push after the first.
    private readonly ConcurrentDictionary<string, bool> _known = new(StringComparer.Ordinal);

    /// <summary>Records that <paramref name="repository"/> exists (idempotent).</summary>
    public async Task AddAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var key = TableKeys.Repository(repository);
        if (_known.ContainsKey(key))
        {
            return;
        }
        await clients.RepositoriesTable.UpsertEntityAsync(new CatalogEntity
        {
            PartitionKey = TableKeys.CatalogPartition,
            RowKey = key,
            Created = time.GetUtcNow(),
        }, TableUpdateMode.Merge, cancellationToken);
        _known.TryAdd(key, true);
    }

    public async Task<bool> ExistsAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var response = await clients.RepositoriesTable.GetEntityIfExistsAsync<CatalogEntity>(
            TableKeys.CatalogPartition, TableKeys.Repository(repository), ["RowKey"], cancellationToken);
        return response.HasValue;
    }

    /// <summary>Repository names after <paramref name="last"/> (exclusive), at most <paramref name="limit"/> of them.</summary>
    public IAsyncEnumerable<string> ListAsync(string? last, int limit, CancellationToken cancellationToken)
    {
        var after = last is not null && RepositoryName.TryParse(last, out var lastName) ? TableKeys.Repository(lastName) : last ?? "";
        return KeyRange.ListAsync(clients.RepositoriesTable, TableKeys.CatalogPartition, "", after, limit, TableKeys.RepositoryFromKey, cancellationToken);
    }
}
