using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage.Policies;

/// <summary>
/// An immutability rule: a tag matching <see cref="TagPattern"/> (<c>*</c> stands for any run of tag characters) in a
/// repository matching <see cref="RepositoryPattern"/> is written once, then never moved or deleted.
/// </summary>
public sealed record ImmutableTagRule(string RepositoryPattern, string TagPattern)
{
    public bool Matches(RepositoryName repository, Tag tag) =>
        RepositoryPatterns.Matches(RepositoryPattern, repository.Value) && TagPatterns.Matches(TagPattern, tag.Value);

    public override string ToString() => $"{TagPattern} in {RepositoryPattern}";

    /// <summary>Null when both patterns are valid; otherwise what a valid one looks like.</summary>
    public string? Problem() => RepositoryPatterns.Validate(RepositoryPattern) ?? TagPatterns.Validate(TagPattern);
}

/// <summary>
/// The immutability rules, in table <c>policies</c>: PartitionKey <c>immutable</c>, RowKey =
/// <see cref="TableKeys.RepositoryPattern"/>(repository pattern) + <c>:</c> + tag pattern (neither holds <c>:</c>),
/// property Actor. A push, a tag delete and a manifest delete check them (<see cref="MatchAsync"/>) against a copy
/// reloaded at most every <see cref="RefreshInterval"/>: a rule added elsewhere applies on every instance within that
/// time, one added through this instance at once.
/// </summary>
public sealed class ImmutableTags(StorageClients clients, TimeProvider time) : IDisposable
{
    public static readonly TimeSpan RefreshInterval = PolicyPartition<ImmutableTagRule>.RefreshInterval;

    private readonly PolicyPartition<ImmutableTagRule> _rows = new(clients, "immutable", [], Read, time);

    /// <summary>Stores <paramref name="rule"/> (again: no change).</summary>
    /// <exception cref="ArgumentException">A pattern is not valid (<see cref="ImmutableTagRule.Problem"/> says why).</exception>
    public async Task AddAsync(ImmutableTagRule rule, string actor, CancellationToken cancellationToken)
    {
        if (rule.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(rule));
        }
        await _rows.WriteAsync(new TableEntity { RowKey = Key(rule), ["Actor"] = actor }, cancellationToken);
    }

    /// <summary>Removes <paramref name="rule"/>: true when it was stored.</summary>
    public async Task<bool> RemoveAsync(ImmutableTagRule rule, CancellationToken cancellationToken) =>
        rule.Problem() is null && await _rows.DeleteAsync(Key(rule), cancellationToken);

    /// <summary>The stored rules, read from storage now, in key order.</summary>
    public Task<IReadOnlyList<ImmutableTagRule>> ListAsync(CancellationToken cancellationToken) => _rows.ReadAsync(cancellationToken);

    /// <summary>The first rule that makes <paramref name="tag"/> of <paramref name="repository"/> immutable, or null (from the copy).</summary>
    public async ValueTask<ImmutableTagRule?> MatchAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken) =>
        (await _rows.CopyAsync(cancellationToken)).FirstOrDefault(rule => rule.Matches(repository, tag));

    public void Dispose() => _rows.Dispose();

    private static ImmutableTagRule? Read(TableEntity row)
    {
        var split = row.RowKey.LastIndexOf(':');
        return split > 0 ? new ImmutableTagRule(TableKeys.RepositoryPatternFromKey(row.RowKey[..split]), row.RowKey[(split + 1)..]) : null;
    }

    private static string Key(ImmutableTagRule rule) => TableKeys.RepositoryPattern(rule.RepositoryPattern) + ":" + rule.TagPattern;
}
