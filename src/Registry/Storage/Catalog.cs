using System.Collections.Concurrent;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage;

/// <summary>The list of repositories (partition <c>~catalog</c>), in lexical order.</summary>
public sealed class Catalog(StorageClients clients, TimeProvider time)
{
    /// <summary>How long this process trusts that it recorded a repository: a repository deleted elsewhere and pushed again is listed again at most this late.</summary>
    public static readonly TimeSpan KnownFor = TimeSpan.FromMinutes(5);

    // Repositories this process recorded, and when: saves a write per push after the first.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _known = new(StringComparer.Ordinal);

    /// <summary>Records that <paramref name="repository"/> exists (idempotent).</summary>
    public async Task AddAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var key = TableKeys.Repository(repository);
        var now = time.GetUtcNow();
        if (_known.TryGetValue(key, out var recorded) && now - recorded < KnownFor)
        {
            return;
        }
        await clients.RepositoriesTable.UpsertEntityAsync(new CatalogEntity
        {
            PartitionKey = TableKeys.CatalogPartition,
            RowKey = key,
            Created = time.GetUtcNow(),
        }, TableUpdateMode.Merge, cancellationToken);
        _known[key] = now;
    }

    /// <summary>Removes <paramref name="repository"/> from the list (idempotent); a push to it adds it again.</summary>
    public async Task RemoveAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var key = TableKeys.Repository(repository);
        _known.TryRemove(key, out _);
        await clients.RepositoriesTable.DeleteEntityAsync(TableKeys.CatalogPartition, key, Azure.ETag.All, cancellationToken);
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
