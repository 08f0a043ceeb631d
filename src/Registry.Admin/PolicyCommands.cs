using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Registry.Storage.Policies;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin policy immutable add|remove|list</c>: tag patterns that are written once per repository pattern
/// (<see cref="ImmutableTags"/>), e.g. <c>policy immutable add 'prod/*' 'v*'</c>.
/// </summary>
internal static class PolicyCommands
{
    public static Command Build(Option<string?> connectionString)
    {
        Argument<string> Repositories() => new("repositories") { Description = "'*', '<name>/*' (everything under <name>/) or a repository name." };
        Argument<string> Tags() => new("tags") { Description = "A tag pattern: tag characters and '*' for any run of them ('v*', 'latest')." };
        var (addRepositories, addTags, removeRepositories, removeTags) = (Repositories(), Tags(), Repositories(), Tags());

        var add = new Command("add", "Makes the matching tags immutable: pushed once, then never moved or deleted.") { addRepositories, addTags };
        add.SetAction(AdminCli.Handler(connectionString,
            (c, p, ct) => AddAsync(c, new ImmutableTagRule(p.GetRequiredValue(addRepositories), p.GetRequiredValue(addTags)), ct)));
        var remove = new Command("remove", "Removes an immutability rule.") { removeRepositories, removeTags };
        remove.SetAction(AdminCli.Handler(connectionString,
            (c, p, ct) => RemoveAsync(c, new ImmutableTagRule(p.GetRequiredValue(removeRepositories), p.GetRequiredValue(removeTags)), ct)));
        var list = new Command("list", "Lists the immutability rules: repository pattern, tag pattern (tab-separated).");
        list.SetAction(AdminCli.Handler(connectionString, (c, _, ct) => ListAsync(c, ct)));

        var immutable = new Command("immutable", "Immutable tags: tag patterns per repository pattern that are written once.") { add, remove, list };
        return new Command("policy", "Lifecycle policies: retention and immutable tags.") { BuildRetention(connectionString), immutable };
    }

    private static Command BuildRetention(Option<string?> connectionString)
    {
        var pattern = new Argument<string>("repositories") { Description = "'*', '<name>/*' (everything under <name>/) or a repository name." };
        var keepLast = new Option<int?>("--keep-last") { Description = "Keep the N most recently pushed tags matching --keep-last-tags." };
        var keepLastTags = new Option<string>("--keep-last-tags") { Description = "The tags --keep-last counts (default '*').", DefaultValueFactory = _ => "*" };
        var keepWithin = new Option<string?>("--keep-within") { Description = "Keep every tag pushed within this long: 30m, 24h, 30d." };
        var keepTags = new Option<string?>("--keep-tags") { Description = "Always keep tags matching this pattern ('prod-*')." };
        var untagged = new Option<string?>("--delete-untagged-after") { Description = "Delete manifests no tag points at once pushed this long ago: 7d." };
        var force = new Option<bool>("--force") { Description = "Store a policy that keeps no tag at all." };
        var set = new Command("set", "Sets the retention policy of the matching repositories (replacing theirs).")
        {
            pattern, keepLast, keepLastTags, keepWithin, keepTags, untagged, force,
        };
        set.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => SetRetentionAsync(c, p.GetRequiredValue(pattern), p.GetValue(keepLast),
            p.GetValue(keepLastTags)!, p.GetValue(keepWithin), p.GetValue(keepTags), p.GetValue(untagged), p.GetValue(force), ct)));
        var removed = new Argument<string>("repositories") { Description = "The repository pattern the policy was set for." };
        var remove = new Command("remove", "Removes a retention policy.") { removed };
        remove.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => RemoveRetentionAsync(c, p.GetRequiredValue(removed), ct)));
        var list = new Command("list", "Lists the retention policies: repository pattern, rules (tab-separated).");
        list.SetAction(AdminCli.Handler(connectionString, async (c, _, ct) =>
        {
            await c.PrepareAsync(ct);
            foreach (var policy in await c.Registry.GetRequiredService<RetentionPolicies>().ListAsync(ct))
            {
                await c.Output.WriteLineAsync($"{policy.RepositoryPattern}\t{policy}");
            }
            return AdminCli.Ok;
        }));
        return new Command("retention", "Retention policies: which tags and untagged manifests the retention run deletes.") { set, remove, list };
    }

    public static async Task<int> SetRetentionAsync(
        AdminContext context, string pattern, int? keepLast, string keepLastTags, string? keepWithin, string? keepTags, string? untagged, bool force,
        CancellationToken cancellationToken)
    {
        var within = keepWithin is null ? null : Durations.Parse(keepWithin);
        var after = untagged is null ? null : Durations.Parse(untagged);
        if ((keepWithin is not null && within is null) || (untagged is not null && after is null))
        {
            return await context.FailAsync(["durations are a number and m, h or d: 30m, 24h, 7d"]);
        }
        var policy = new RetentionPolicy(pattern, keepLast, keepLastTags, within, keepTags, after);
        if (policy.Problem(force) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        await context.Registry.GetRequiredService<RetentionPolicies>().SetAsync(policy, "cli:" + Environment.UserName, cancellationToken);
        await context.Output.WriteLineAsync($"{pattern}\t{policy}");
        await context.RecordAsync("policy-retention-set", $"{pattern} {policy}", cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> RemoveRetentionAsync(AdminContext context, string pattern, CancellationToken cancellationToken)
    {
        await context.PrepareAsync(cancellationToken);
        if (!await context.Registry.GetRequiredService<RetentionPolicies>().RemoveAsync(pattern, cancellationToken))
        {
            return await context.FailAsync([$"'{pattern}' has no retention policy (`policy retention list` shows them)"]);
        }
        await context.RecordAsync("policy-retention-remove", pattern, cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> AddAsync(AdminContext context, ImmutableTagRule rule, CancellationToken cancellationToken)
    {
        if (rule.Problem() is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        await Rules(context).AddAsync(rule, "cli:" + Environment.UserName, cancellationToken);
        await context.Output.WriteLineAsync(
            $"Tags '{rule.TagPattern}' of repositories '{rule.RepositoryPattern}' are now immutable (running registries apply it within {ImmutableTags.RefreshInterval.TotalSeconds:0} seconds).");
        await context.RecordAsync("policy-immutable-add", rule.ToString(), cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> RemoveAsync(AdminContext context, ImmutableTagRule rule, CancellationToken cancellationToken)
    {
        if (rule.Problem() is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        if (!await Rules(context).RemoveAsync(rule, cancellationToken))
        {
            return await context.FailAsync([$"'{rule}' is not an immutability rule (`policy immutable list` shows them)"]);
        }
        await context.Output.WriteLineAsync($"Removed '{rule}' (running registries stop applying it within {ImmutableTags.RefreshInterval.TotalSeconds:0} seconds).");
        await context.RecordAsync("policy-immutable-remove", rule.ToString(), cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> ListAsync(AdminContext context, CancellationToken cancellationToken)
    {
        await context.PrepareAsync(cancellationToken);
        foreach (var rule in await Rules(context).ListAsync(cancellationToken))
        {
            await context.Output.WriteLineAsync($"{rule.RepositoryPattern}\t{rule.TagPattern}");
        }
        return AdminCli.Ok;
    }

    private static ImmutableTags Rules(AdminContext context) => context.Registry.GetRequiredService<ImmutableTags>();
}
