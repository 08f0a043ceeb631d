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
public sealed class AnonymousPullRules : IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(10);

    private const string Partition = "anonymous";

    private readonly StorageClients _clients;
    private readonly RefreshingCopy<IReadOnlyList<string>> _copy;

    public AnonymousPullRules(StorageClients clients, TimeProvider time)
    {
        _clients = clients;
        _copy = new RefreshingCopy<IReadOnlyList<string>>(ListAsync, RefreshInterval, time);
    }

    /// <summary>Stores <paramref name="pattern"/>; adding one that is already there changes nothing.</summary>
    /// <exception cref="ArgumentException">The pattern is not valid (<see cref="ValidatePattern"/> says why).</exception>
    public async Task AddAsync(string pattern, CancellationToken cancellationToken)
    {
        ThrowIfInvalid(pattern);
        await _clients.AuthTable.UpsertEntityAsync(new TableEntity(Partition, TableKeys.RepositoryPattern(pattern)), TableUpdateMode.Replace, cancellationToken);
        _copy.Changed();
    }

    /// <summary>Removes <paramref name="pattern"/>: true when it was stored, false when it was not (or is not a valid pattern).</summary>
    public async Task<bool> RemoveAsync(string pattern, CancellationToken cancellationToken)
    {
        if (ValidatePattern(pattern) is not null)
        {
            return false;
        }
        // The SDK treats a delete of a missing entity as done: the 404 comes back as the status, not as an exception.
        var response = await _clients.AuthTable.DeleteEntityAsync(Partition, TableKeys.RepositoryPattern(pattern), ETag.All, cancellationToken);
        _copy.Changed();
        return response.Status != 404;
    }

    /// <summary>The stored patterns, read from storage now, in key order.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        var patterns = new List<string>();
        await foreach (var entity in _clients.AuthTable.QueryAsync<TableEntity>(
            e => e.PartitionKey == Partition, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            patterns.Add(TableKeys.RepositoryPatternFromKey(entity.RowKey));
        }
        return patterns;
    }

    /// <summary>The cached patterns (at most <see cref="RefreshInterval"/> old).</summary>
    public ValueTask<IReadOnlyList<string>> SnapshotAsync(CancellationToken cancellationToken) => _copy.GetAsync(cancellationToken);

    /// <summary>Null when <paramref name="pattern"/> is valid; otherwise a message that says what a valid one looks like.</summary>
    public static string? ValidatePattern(string? pattern) => RepositoryPatterns.Validate(pattern);

    public void Dispose() => _copy.Dispose();

    private static void ThrowIfInvalid(string pattern)
    {
        if (ValidatePattern(pattern) is { } error)
        {
            throw new ArgumentException(error, nameof(pattern));
        }
    }
}
