using Azure;
using Azure.Data.Tables;
using Registry.Oci;
using Registry.Storage;

namespace Registry.Auth;

/// <summary>
/// Repository patterns anyone may pull without credentials, in table <c>auth</c>: PartitionKey <c>anonymous</c>,
/// RowKey = the pattern with <c>/</c> spelled <c>.~</c> (<c>public.~*</c>), no other property. A pattern is
/// <c>*</c> (every repository), <c>&lt;name&gt;/*</c> (every repository under <c>&lt;name&gt;/</c>, any depth) or one
/// repository name, matched as <see cref="AccessRule.Matches"/> matches scope-map patterns.
///
/// <para>Request-time checks (<see cref="SnapshotAsync"/>) read an in-memory copy that
/// is reloaded at most every <see cref="RefreshInterval"/>: a change made elsewhere (the admin CLI, another
/// instance) takes effect within that time, and most checks cost no storage call. Changes made through this
/// instance take effect at once.</para>
/// </summary>
public sealed class AnonymousPullRules(StorageClients clients, TimeProvider time) : IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(10);

    private const string Partition = "anonymous";

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Snapshot? _snapshot;

    // Bumped by every change made through this instance, so a copy loaded before the change counts as stale even
    // when its load finished after it.
    private int _generation;

    /// <summary>Stores <paramref name="pattern"/>; adding one that is already there changes nothing.</summary>
    /// <exception cref="ArgumentException">The pattern is not valid (<see cref="ValidatePattern"/> says why).</exception>
    public async Task AddAsync(string pattern, CancellationToken cancellationToken)
    {
        ThrowIfInvalid(pattern);
        await clients.AuthTable.UpsertEntityAsync(new TableEntity(Partition, TableKeys.RepositoryPattern(pattern)), TableUpdateMode.Replace, cancellationToken);
        Interlocked.Increment(ref _generation);
    }

    /// <summary>Removes <paramref name="pattern"/>: true when it was stored, false when it was not (or is not a valid pattern).</summary>
    public async Task<bool> RemoveAsync(string pattern, CancellationToken cancellationToken)
    {
        if (ValidatePattern(pattern) is not null)
        {
            return false;
        }
        // The SDK treats a delete of a missing entity as done: the 404 comes back as the status, not as an exception.
        var response = await clients.AuthTable.DeleteEntityAsync(Partition, TableKeys.RepositoryPattern(pattern), ETag.All, cancellationToken);
        Interlocked.Increment(ref _generation);
        return response.Status != 404;
    }

    /// <summary>The stored patterns, read from storage now, in key order.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        var patterns = new List<string>();
        await foreach (var entity in clients.AuthTable.QueryAsync<TableEntity>(
            e => e.PartitionKey == Partition, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            patterns.Add(TableKeys.RepositoryPatternFromKey(entity.RowKey));
        }
        return patterns;
    }

    /// <summary>The cached patterns (at most <see cref="RefreshInterval"/> old).</summary>
    public async ValueTask<IReadOnlyList<string>> SnapshotAsync(CancellationToken cancellationToken) =>
        (await CurrentAsync(cancellationToken)).Patterns;

    /// <summary>Null when <paramref name="pattern"/> is valid; otherwise a message that says what a valid one looks like.</summary>
    public static string? ValidatePattern(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "the pattern is empty: use '*', '<name>/*' or a repository name";
        }
        if (pattern == "*")
        {
            return null;
        }
        var name = pattern.EndsWith("/*", StringComparison.Ordinal) ? pattern[..^2] : pattern;
        return RepositoryName.TryParse(name, out _)
            ? null
            : $"'{pattern}' is not a repository pattern: use '*', '<name>/*' or a repository name, where a name is lowercase "
              + "letters and digits separated by '.', '_', '__', '-' or '/' (e.g. 'public/*', 'library/alpine')";
    }

    private async ValueTask<Snapshot> CurrentAsync(CancellationToken cancellationToken)
    {
        if (_snapshot is { } fresh && !IsStale(fresh))
        {
            return fresh;
        }
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have reloaded while this one waited.
            if (_snapshot is { } reloaded && !IsStale(reloaded))
            {
                return reloaded;
            }
            var generation = Volatile.Read(ref _generation);
            var loadedAt = time.GetUtcNow();
            var patterns = await ListAsync(cancellationToken);
            var snapshot = new Snapshot(patterns, [.. patterns.Select(p => new AccessRule(p, [Actions.Pull]))], loadedAt, generation);
            _snapshot = snapshot;
            return snapshot;
        }
        finally
        {
            _refresh.Release();
        }
    }

    public void Dispose() => _refresh.Dispose();

    private bool IsStale(Snapshot snapshot) =>
        snapshot.Generation != Volatile.Read(ref _generation) || time.GetUtcNow() - snapshot.LoadedAt >= RefreshInterval;

    private static void ThrowIfInvalid(string pattern)
    {
        if (ValidatePattern(pattern) is { } error)
        {
            throw new ArgumentException(error, nameof(pattern));
        }
    }

    private sealed record Snapshot(IReadOnlyList<string> Patterns, IReadOnlyList<AccessRule> Rules, DateTimeOffset LoadedAt, int Generation);
}
