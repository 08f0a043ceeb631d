using Azure;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage.Policies;

/// <summary>
/// A retention policy for the repositories matching <see cref="RepositoryPattern"/>. Tag rules apply when any keep rule
/// is set: a tag stays when it matches <see cref="KeepTags"/>, was pushed (last moved) within <see cref="KeepWithin"/>,
/// or is one of the <see cref="KeepLast"/> most recently pushed tags matching <see cref="KeepLastTags"/>; every other
/// tag is deleted. Locked and immutable tags always stay. <see cref="DeleteUntaggedAfter"/> deletes manifests no tag
/// points at once they were pushed that long ago, unless locked, listed by a manifest that stays, or a referrer.
/// </summary>
public sealed record RetentionPolicy(
    string RepositoryPattern, int? KeepLast, string KeepLastTags, TimeSpan? KeepWithin, string? KeepTags, TimeSpan? DeleteUntaggedAfter)
{
    /// <summary>Whether the policy deletes tags at all (it has a keep rule).</summary>
    public bool PrunesTags => KeepLast is not null || KeepWithin is not null || KeepTags is not null;

    /// <summary>Null when the policy is valid and would not delete every tag (unless <paramref name="force"/>); else why not.</summary>
    public string? Problem(bool force)
    {
        if (RepositoryPatterns.Validate(RepositoryPattern) is { } repository)
        {
            return repository;
        }
        if ((TagPatterns.Validate(KeepLastTags) ?? (KeepTags is null ? null : TagPatterns.Validate(KeepTags))) is { } tags)
        {
            return tags;
        }
        if (KeepLast is < 0 || KeepWithin < TimeSpan.Zero || DeleteUntaggedAfter < TimeSpan.Zero)
        {
            return "counts and durations cannot be negative";
        }
        if (!PrunesTags && DeleteUntaggedAfter is null)
        {
            return "the policy has no rule: give --keep-last, --keep-within, --keep-tags or --delete-untagged-after";
        }
        if (!force && PrunesTags && KeepLast is null or 0 && KeepWithin is null or { Ticks: 0 } && KeepTags is null)
        {
            return "the policy keeps no tag and would delete every tag of the matching repositories; give a keep rule, or --force";
        }
        return null;
    }

    /// <summary>The policy in the CLI's words.</summary>
    public override string ToString() => string.Join(' ', new[]
    {
        KeepLast is { } n ? $"keep-last={n} of '{KeepLastTags}'" : null,
        KeepWithin is { } within ? $"keep-within={Durations.Format(within)}" : null,
        KeepTags is { } keep ? $"keep-tags='{keep}'" : null,
        DeleteUntaggedAfter is { } after ? $"delete-untagged-after={Durations.Format(after)}" : null,
    }.Where(part => part is not null));
}

/// <summary>Durations as the CLI and the policies write them: <c>30m</c>, <c>12h</c>, <c>7d</c>.</summary>
public static class Durations
{
    public static TimeSpan? Parse(string? text)
    {
        if (text is not { Length: >= 2 and <= 8 } || !int.TryParse(text.AsSpan(0, text.Length - 1), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var amount))
        {
            return null;
        }
        return text[^1] switch
        {
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            _ => null,
        };
    }

    public static string Format(TimeSpan span) =>
        span.TotalDays >= 1 && span.Ticks % TimeSpan.TicksPerDay == 0 ? $"{span.TotalDays:0}d"
        : span.Ticks % TimeSpan.TicksPerHour == 0 ? $"{span.TotalHours:0}h"
        : $"{span.TotalMinutes:0}m";
}

/// <summary>
/// The retention policies, in table <c>policies</c>: PartitionKey <c>retention</c>, RowKey =
/// <see cref="TableKeys.RepositoryPattern"/>(repository pattern), properties KeepLast, KeepLastTags, KeepWithinSeconds,
/// KeepTags, DeleteUntaggedAfterSeconds, Actor. Read from storage by each retention run (never cached).
/// </summary>
public sealed class RetentionPolicies(StorageClients clients)
{
    private const string Partition = "retention";

    /// <summary>Stores <paramref name="policy"/>, replacing the one for the same repository pattern.</summary>
    public Task SetAsync(RetentionPolicy policy, string actor, CancellationToken cancellationToken) =>
        clients.PoliciesTable.UpsertEntityAsync(new TableEntity(Partition, TableKeys.RepositoryPattern(policy.RepositoryPattern))
        {
            ["KeepLast"] = policy.KeepLast,
            ["KeepLastTags"] = policy.KeepLastTags,
            ["KeepWithinSeconds"] = Seconds(policy.KeepWithin),
            ["KeepTags"] = policy.KeepTags,
            ["DeleteUntaggedAfterSeconds"] = Seconds(policy.DeleteUntaggedAfter),
            ["Actor"] = actor,
        }, TableUpdateMode.Replace, cancellationToken);

    /// <summary>Removes the policy of <paramref name="repositoryPattern"/>: true when there was one.</summary>
    public async Task<bool> RemoveAsync(string repositoryPattern, CancellationToken cancellationToken)
    {
        if (RepositoryPatterns.Validate(repositoryPattern) is not null)
        {
            return false;
        }
        var response = await clients.PoliciesTable.DeleteEntityAsync(Partition, TableKeys.RepositoryPattern(repositoryPattern), ETag.All, cancellationToken);
        return response.Status != 404;
    }

    /// <summary>Every stored policy, read from storage now.</summary>
    public async Task<IReadOnlyList<RetentionPolicy>> ListAsync(CancellationToken cancellationToken)
    {
        var policies = new List<RetentionPolicy>();
        await foreach (var row in clients.PoliciesTable.QueryAsync<TableEntity>(e => e.PartitionKey == Partition, cancellationToken: cancellationToken))
        {
            policies.Add(new RetentionPolicy(
                TableKeys.RepositoryPatternFromKey(row.RowKey), row.GetInt32("KeepLast"), row.GetString("KeepLastTags") ?? "*",
                Span(row.GetInt64("KeepWithinSeconds")), row.GetString("KeepTags"), Span(row.GetInt64("DeleteUntaggedAfterSeconds"))));
        }
        return policies;
    }

    /// <summary>
    /// The policy that applies to <paramref name="repository"/>: of those whose pattern matches, the most specific (the
    /// name itself, then the longest <c>&lt;name&gt;/*</c>, then <c>*</c>); null when none does.
    /// </summary>
    public static RetentionPolicy? For(IEnumerable<RetentionPolicy> policies, string repository) =>
        policies.Where(p => RepositoryPatterns.Matches(p.RepositoryPattern, repository))
            .OrderByDescending(p => p.RepositoryPattern == repository ? int.MaxValue : p.RepositoryPattern.Length)
            .FirstOrDefault();

    private static long? Seconds(TimeSpan? span) => span is { } s ? (long)s.TotalSeconds : null;

    private static TimeSpan? Span(long? seconds) => seconds is { } s ? TimeSpan.FromSeconds(s) : null;
}
