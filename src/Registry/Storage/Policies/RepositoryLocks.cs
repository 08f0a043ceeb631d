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
public sealed class RepositoryLocks(StorageClients clients, TimeProvider time) : IDisposable
{
    public static readonly TimeSpan RefreshInterval = PolicyPartition<string>.RefreshInterval;

    private readonly PolicyPartition<string> _rows = new(clients, "repolock", [], row => TableKeys.RepositoryPatternFromKey(row.RowKey), time);

    /// <summary>Locks the repositories <paramref name="repositoryPattern"/> covers (again: no change).</summary>
    /// <exception cref="ArgumentException">The pattern is not valid (<see cref="RepositoryPatterns.Validate"/> says why).</exception>
    public async Task LockAsync(string repositoryPattern, string actor, CancellationToken cancellationToken)
    {
        if (RepositoryPatterns.Validate(repositoryPattern) is { } problem)
        {
            throw new ArgumentException(problem, nameof(repositoryPattern));
        }
        await _rows.WriteAsync(new TableEntity { RowKey = TableKeys.RepositoryPattern(repositoryPattern), ["Actor"] = actor }, cancellationToken);
    }

    /// <summary>Removes the lock of <paramref name="repositoryPattern"/>: true when there was one.</summary>
    public async Task<bool> UnlockAsync(string repositoryPattern, CancellationToken cancellationToken) =>
        RepositoryPatterns.Validate(repositoryPattern) is null && await _rows.DeleteAsync(TableKeys.RepositoryPattern(repositoryPattern), cancellationToken);

    /// <summary>The locked patterns, read from storage now, in key order.</summary>
    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken) => _rows.ReadAsync(cancellationToken);

    /// <summary>The first locked pattern that covers <paramref name="repository"/>, or null (from the copy).</summary>
    public async ValueTask<string?> MatchAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        (await _rows.CopyAsync(cancellationToken)).FirstOrDefault(pattern => RepositoryPatterns.Matches(pattern, repository.Value));

    /// <summary>What a refused write says: which lock, and how to lift it.</summary>
    public static string Refusal(RepositoryName repository, string pattern) =>
        $"repository {repository} is locked ('{pattern}'): it is pulled as before, but nothing is pushed to it or deleted from it until registry-admin unlock '{pattern}'";

    public void Dispose() => _rows.Dispose();
}
