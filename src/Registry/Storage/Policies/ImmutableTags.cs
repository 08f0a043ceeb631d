using Azure;
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
public sealed class ImmutableTags : IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(10);

    private const string Partition = "immutable";

    private readonly StorageClients _clients;
    private readonly RefreshingCopy<IReadOnlyList<ImmutableTagRule>> _copy;

    public ImmutableTags(StorageClients clients, TimeProvider time)
    {
        _clients = clients;
        _copy = new RefreshingCopy<IReadOnlyList<ImmutableTagRule>>(ListAsync, RefreshInterval, time);
    }

    /// <summary>Stores <paramref name="rule"/> (again: no change).</summary>
    /// <exception cref="ArgumentException">A pattern is not valid (<see cref="ImmutableTagRule.Problem"/> says why).</exception>
    public async Task AddAsync(ImmutableTagRule rule, string actor, CancellationToken cancellationToken)
    {
        if (rule.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(rule));
        }
        await _clients.PoliciesTable.UpsertEntityAsync(new TableEntity(Partition, Key(rule)) { ["Actor"] = actor }, TableUpdateMode.Replace, cancellationToken);
        _copy.Changed();
    }

    /// <summary>Removes <paramref name="rule"/>: true when it was stored.</summary>
    public async Task<bool> RemoveAsync(ImmutableTagRule rule, CancellationToken cancellationToken)
    {
        if (rule.Problem() is not null)
        {
            return false;
        }
        var response = await _clients.PoliciesTable.DeleteEntityAsync(Partition, Key(rule), ETag.All, cancellationToken);
        _copy.Changed();
        return response.Status != 404;
    }

    /// <summary>The stored rules, read from storage now, in key order.</summary>
    public async Task<IReadOnlyList<ImmutableTagRule>> ListAsync(CancellationToken cancellationToken)
    {
        var rules = new List<ImmutableTagRule>();
        await foreach (var entity in _clients.PoliciesTable.QueryAsync<TableEntity>(
            e => e.PartitionKey == Partition, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            var split = entity.RowKey.LastIndexOf(':');
            if (split > 0)
            {
                rules.Add(new ImmutableTagRule(TableKeys.RepositoryPatternFromKey(entity.RowKey[..split]), entity.RowKey[(split + 1)..]));
            }
        }
        return rules;
    }

    /// <summary>The first rule that makes <paramref name="tag"/> of <paramref name="repository"/> immutable, or null (from the copy).</summary>
    public async ValueTask<ImmutableTagRule?> MatchAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken)
    {
        foreach (var rule in await _copy.GetAsync(cancellationToken))
        {
            if (rule.Matches(repository, tag))
            {
                return rule;
            }
        }
        return null;
    }

    public void Dispose() => _copy.Dispose();

    private static string Key(ImmutableTagRule rule) => TableKeys.RepositoryPattern(rule.RepositoryPattern) + ":" + rule.TagPattern;
}
