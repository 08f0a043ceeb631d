using Azure;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage.Policies;

/// <summary>
/// Locked repositories (ACR's <c>writeEnabled</c>/<c>deleteEnabled</c> off, Harbor's read-only), in table
/// <c>policies</c>: PartitionKey <c>repolock</c>, RowKey = <see cref="TableKeys.RepositoryPattern"/>(repository pattern),
/// property Actor. A repository a pattern covers is pulled as before, but nothing is pushed to it or deleted from it,
/// by clients, retention or rollback. Requests check a copy reloaded at most every <see cref="RefreshInterval"/>: a
/// lock set elsewhere applies on every instance within that time (one set through this instance at once); a push
/// already past its check when the lock is set may still complete.
/// </summary>
public sealed class RepositoryLocks : IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(10);

    private const string Partition = "repolock";

    private readonly StorageClients _clients;
    private readonly RefreshingCopy<IReadOnlyList<string>> _copy;

    public RepositoryLocks(StorageClients clients, TimeProvider time)
    {
        _clients = clients;
        _copy = new RefreshingCopy<IReadOnlyList<string>>(ListAsync, RefreshInterval, time);
    }

    /// <summary>Locks the repositories <paramref name="repositoryPattern"/> covers (again: no change).</summary>
    /// <exception cref="ArgumentException">The pattern is not valid (<see cref="RepositoryPatterns.Validate"/> says why).</exception>
    public async Task LockAsync(string repositoryPattern, string actor, CancellationToken cancellationToken)
    {
        if (RepositoryPatterns.Validate(repositoryPattern) is { } problem)
        {
            throw new ArgumentException(problem, nameof(repositoryPattern));
        }
        await _clients.PoliciesTable.UpsertEntityAsync(
            new TableEntity(Partition, TableKeys.RepositoryPattern(repositoryPattern)) { ["Actor"] = actor }, TableUpdateMode.Replace, cancellationToken);
        _copy.Changed();
    }

    /// <summary>Removes the lock of <paramref name="repositoryPattern"/>: true when there was one.</summary>
    public async Task<bool> UnlockAsync(string repositoryPattern, CancellationToken cancellationToken)
    {
        if (RepositoryPatterns.Validate(repositoryPattern) is not null)
        {
            return false;
        }
        var response = await _clients.PoliciesTable.DeleteEntityAsync(Partition, TableKeys.RepositoryPattern(repositoryPattern), ETag.All, cancellationToken);
        _copy.Changed();
        return response.Status != 404;
    }

    /// <summary>The locked patterns, read from storage now, in key order.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        var patterns = new List<string>();
        await foreach (var entity in _clients.PoliciesTable.QueryAsync<TableEntity>(
            e => e.PartitionKey == Partition, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            patterns.Add(TableKeys.RepositoryPatternFromKey(entity.RowKey));
        }
        return patterns;
    }

    /// <summary>The first locked pattern that covers <paramref name="repository"/>, or null (from the copy).</summary>
    public async ValueTask<string?> MatchAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        foreach (var pattern in await _copy.GetAsync(cancellationToken))
        {
            if (RepositoryPatterns.Matches(pattern, repository.Value))
            {
                return pattern;
            }
        }
        return null;
    }

    /// <summary>What a refused write says: which lock, and how to lift it.</summary>
    public static string Refusal(RepositoryName repository, string pattern) =>
        $"repository {repository} is locked ('{pattern}'): it is pulled as before, but nothing is pushed to it or deleted from it until registry-admin unlock '{pattern}'";

    public void Dispose() => _copy.Dispose();
}
