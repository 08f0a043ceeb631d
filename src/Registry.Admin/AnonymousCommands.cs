using System.CommandLine;
using Registry.Auth;

namespace Registry.Admin;

/// <summary><c>registry-admin anonymous ...</c>: the repository patterns anyone may pull without credentials (<see cref="AnonymousPullRules"/>).</summary>
internal static class AnonymousCommands
{
    public static Command Build(Option<string?> connectionString)
    {
        var pattern = new Argument<string>("pattern") { Description = "'*', '<name>/*' (everything under <name>/) or a repository name." };

        var add = new Command("add", "Lets anyone pull the repositories matching the pattern.") { pattern };
        add.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => AddAsync(c, p.GetRequiredValue(pattern), ct)));

        var remove = new Command("remove", "Stops anonymous pulls for the pattern.") { pattern };
        remove.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => RemoveAsync(c, p.GetRequiredValue(pattern), ct)));

        var list = new Command("list", "Lists the anonymous-pull patterns, one a line.");
        list.SetAction(AdminCli.Handler(connectionString, (c, _, ct) => ListAsync(c, ct)));

        return new Command("anonymous", "Anonymous pull: repository patterns anyone may pull without credentials.") { add, remove, list };
    }

    public static async Task<int> AddAsync(AdminContext context, string pattern, CancellationToken cancellationToken)
    {
        if (AnonymousPullRules.ValidatePattern(pattern) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        await context.Anonymous.AddAsync(pattern, cancellationToken);
        await context.Output.WriteLineAsync(
            $"Anyone may now pull repositories matching '{pattern}' (running registries see it within {AnonymousPullRules.RefreshInterval.TotalSeconds:0} seconds).");
        await context.RecordAsync("anonymous-add", pattern, cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> RemoveAsync(AdminContext context, string pattern, CancellationToken cancellationToken)
    {
        if (AnonymousPullRules.ValidatePattern(pattern) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        if (!await context.Anonymous.RemoveAsync(pattern, cancellationToken))
        {
            return await context.FailAsync([$"'{pattern}' is not an anonymous-pull pattern (`anonymous list` shows them)"]);
        }
        await context.Output.WriteLineAsync(
            $"Removed '{pattern}' (running registries stop anonymous pulls for it within {AnonymousPullRules.RefreshInterval.TotalSeconds:0} seconds).");
        await context.RecordAsync("anonymous-remove", pattern, cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> ListAsync(AdminContext context, CancellationToken cancellationToken)
    {
        await context.PrepareAsync(cancellationToken);
        foreach (var pattern in await context.Anonymous.ListAsync(cancellationToken))
        {
            await context.Output.WriteLineAsync(pattern);
        }
        return AdminCli.Ok;
    }
}
