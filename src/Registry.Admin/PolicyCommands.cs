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
        return new Command("policy", "Lifecycle policies (immutable tags; retention to come).") { immutable };
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
