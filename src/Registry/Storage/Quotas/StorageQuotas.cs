using Azure;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage.Quotas;

/// <summary>At most <see cref="Bytes"/> of unique blob bytes in the repositories matching <see cref="RepositoryPattern"/>.</summary>
public sealed record StorageQuota(string RepositoryPattern, long Bytes)
{
    public bool Covers(RepositoryName repository) => RepositoryPatterns.Matches(RepositoryPattern, repository.Value);
}

/// <summary>
/// The storage quotas, in table <c>policies</c>: PartitionKey <c>quota</c>, RowKey =
/// <see cref="TableKeys.RepositoryPattern"/>(repository pattern), properties Bytes and Actor. Pushes check them
/// (<see cref="QuotaAdmission"/>) against a copy reloaded at most every <see cref="RefreshInterval"/>: a quota set
/// elsewhere applies on every instance within that time, one set through this instance at once.
/// </summary>
public sealed class StorageQuotas : IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(10);

    private const string Partition = "quota";

    private readonly StorageClients _clients;
    private readonly RefreshingCopy<IReadOnlyList<StorageQuota>> _copy;

    public StorageQuotas(StorageClients clients, TimeProvider time)
    {
        _clients = clients;
        _copy = new RefreshingCopy<IReadOnlyList<StorageQuota>>(ListAsync, RefreshInterval, time);
    }

    /// <summary>Stores <paramref name="quota"/>, replacing the one of the same pattern.</summary>
    /// <exception cref="ArgumentException">The pattern is not valid, or the size is not positive.</exception>
    public async Task SetAsync(StorageQuota quota, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(quota);
        if (RepositoryPatterns.Validate(quota.RepositoryPattern) is { } problem)
        {
            throw new ArgumentException(problem, nameof(quota));
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(quota.Bytes);
        await _clients.PoliciesTable.UpsertEntityAsync(new TableEntity(Partition, TableKeys.RepositoryPattern(quota.RepositoryPattern))
        {
            ["Bytes"] = quota.Bytes,
            ["Actor"] = actor,
        }, TableUpdateMode.Replace, cancellationToken);
        _copy.Changed();
    }

    /// <summary>Removes the quota of <paramref name="repositoryPattern"/>: true when there was one.</summary>
    public async Task<bool> RemoveAsync(string repositoryPattern, CancellationToken cancellationToken)
    {
        if (RepositoryPatterns.Validate(repositoryPattern) is not null)
        {
            return false;
        }
        var response = await _clients.PoliciesTable.DeleteEntityAsync(Partition, TableKeys.RepositoryPattern(repositoryPattern), ETag.All, cancellationToken);
        _copy.Changed();
        return response.Status != 404;
    }

    /// <summary>The stored quotas, read from storage now, in key order.</summary>
    public async Task<IReadOnlyList<StorageQuota>> ListAsync(CancellationToken cancellationToken)
    {
        var quotas = new List<StorageQuota>();
        await foreach (var row in _clients.PoliciesTable.QueryAsync<TableEntity>(
            e => e.PartitionKey == Partition, select: ["RowKey", "Bytes"], cancellationToken: cancellationToken))
        {
            quotas.Add(new StorageQuota(TableKeys.RepositoryPatternFromKey(row.RowKey), row.GetInt64("Bytes") ?? 0));
        }
        return quotas;
    }

    /// <summary>The quotas that cover <paramref name="repository"/> (from the copy).</summary>
    public async ValueTask<IEnumerable<StorageQuota>> CoveringAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        (await _copy.GetAsync(cancellationToken)).Where(q => q.Covers(repository));

    public void Dispose() => _copy.Dispose();
}
