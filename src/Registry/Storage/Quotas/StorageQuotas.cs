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
public sealed class StorageQuotas(StorageClients clients, TimeProvider time) : IDisposable
{
    public static readonly TimeSpan RefreshInterval = PolicyPartition<StorageQuota>.RefreshInterval;

    private readonly PolicyPartition<StorageQuota> _rows = new(clients, "quota", ["Bytes"],
        row => new StorageQuota(TableKeys.RepositoryPatternFromKey(row.RowKey), row.GetInt64("Bytes") ?? 0), time);

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
        await _rows.WriteAsync(new TableEntity { RowKey = TableKeys.RepositoryPattern(quota.RepositoryPattern), ["Bytes"] = quota.Bytes, ["Actor"] = actor }, cancellationToken);
    }

    /// <summary>Removes the quota of <paramref name="repositoryPattern"/>: true when there was one.</summary>
    public async Task<bool> RemoveAsync(string repositoryPattern, CancellationToken cancellationToken) =>
        RepositoryPatterns.Validate(repositoryPattern) is null && await _rows.DeleteAsync(TableKeys.RepositoryPattern(repositoryPattern), cancellationToken);

    /// <summary>The stored quotas, read from storage now, in key order.</summary>
    public Task<IReadOnlyList<StorageQuota>> ListAsync(CancellationToken cancellationToken) => _rows.ReadAsync(cancellationToken);

    /// <summary>The quotas that cover <paramref name="repository"/> (from the copy).</summary>
    public async ValueTask<IEnumerable<StorageQuota>> CoveringAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        (await _rows.CopyAsync(cancellationToken)).Where(q => q.Covers(repository));

    public void Dispose() => _rows.Dispose();
}
