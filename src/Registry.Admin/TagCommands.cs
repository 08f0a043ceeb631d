using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Storage.Events;
using Registry.Storage.Manifests;
using Registry.Storage.Tags;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin tag history REPO:TAG [-n N]</c>: every recorded move of a tag, newest first;
/// <c>registry-admin tag rollback REPO:TAG [--to DIGEST | --steps N]</c>: points the tag back, as an audited move of its
/// own (refused on a locked tag like any move).
/// </summary>
internal static class TagCommands
{
    public static Command Build(Option<string?> connectionString)
    {
        var historyTag = new Argument<string>("tag") { Description = "REPO:TAG, e.g. team/app:prod." };
        var count = new Option<int>("-n") { Description = "At most this many moves (default 50).", DefaultValueFactory = _ => 50 };
        var history = new Command("history", "Prints the tag's moves, newest first: time, action, from, to, actor (tab-separated).") { historyTag, count };
        history.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => HistoryAsync(c, p.GetValue(historyTag)!, p.GetValue(count), ct)));

        var rollbackTag = new Argument<string>("tag") { Description = "REPO:TAG, e.g. team/app:prod." };
        var to = new Option<string?>("--to") { Description = "Point the tag at this digest (a manifest the repository holds)." };
        var steps = new Option<int?>("--steps") { Description = "Point the tag where it pointed this many moves ago (default 1: before its last move)." };
        var rollback = new Command("rollback", "Points the tag back where it pointed before, or at --to DIGEST.") { rollbackTag, to, steps };
        rollback.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => RollbackAsync(c, p.GetValue(rollbackTag)!, p.GetValue(to), p.GetValue(steps), ct)));
        return new Command("tag", "A tag's history, and rolling it back.") { history, rollback };
    }

    public static async Task<int> HistoryAsync(AdminContext context, string text, int count, CancellationToken cancellationToken)
    {
        if (ParseTag(text, out var problem) is not { } reference)
        {
            return await context.FailAsync([problem]);
        }
        if (count is < 1 or > TagStore.MaxHistory)
        {
            return await context.FailAsync([$"-n must be between 1 and {TagStore.MaxHistory}"]);
        }
        await context.PrepareAsync(cancellationToken);
        var moves = await context.Registry.GetRequiredService<TagStore>().HistoryAsync(reference.Repository, reference.Tag!.Value, count, cancellationToken);
        await context.Output.WriteLineAsync("time\taction\tfrom\tto\tactor");
        foreach (var move in moves)
        {
            await context.Output.WriteLineAsync(string.Join('\t',
                move.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), move.Action,
                move.Previous?.Value ?? "-", move.Digest?.Value ?? "-", move.Actor ?? "-"));
        }
        if (moves.Count == 0)
        {
            await context.Error.WriteLineAsync($"{reference} has no recorded moves");
        }
        return AdminCli.Ok;
    }

    public static async Task<int> RollbackAsync(AdminContext context, string text, string? toText, int? steps, CancellationToken cancellationToken)
    {
        if (ParseTag(text, out var problem) is not { } reference)
        {
            return await context.FailAsync([problem]);
        }
        Digest to = default;
        if (toText is not null && Digest.TryParse(toText, out to) != DigestParse.Valid)
        {
            return await context.FailAsync([$"--to '{toText}' is not a digest (sha256:<64 hex digits>)"]);
        }
        if (toText is not null && steps is not null)
        {
            return await context.FailAsync(["give --to or --steps, not both"]);
        }
        if (steps is < 1 or > TagStore.MaxHistory)
        {
            return await context.FailAsync([$"--steps must be between 1 and {TagStore.MaxHistory}"]);
        }
        await context.PrepareAsync(cancellationToken);
        var (repository, tag) = (reference.Repository, reference.Tag!.Value);
        if (toText is null)
        {
            var wanted = steps ?? 1;
            var moves = await context.Registry.GetRequiredService<TagStore>().HistoryAsync(repository, tag, wanted, cancellationToken);
            if (moves.Count < wanted || moves[wanted - 1].Previous is not { } previous)
            {
                return await context.FailAsync([$"{reference} has {moves.Count(m => m.Previous is not null)} recorded moves from an earlier digest within the last {wanted}; there is nothing to roll back to (see 'registry-admin tag history {reference}')"]);
            }
            to = previous;
        }
        var origin = new ChangeOrigin("cli:" + Environment.UserName);
        var retagged = await context.Registry.GetRequiredService<ManifestStore>().RetagAsync(repository, tag, to, TagMoveActions.Rollback, origin, cancellationToken);
        if (retagged.Error is { } refused)
        {
            return await context.FailAsync([refused.Detail ?? refused.Message]);
        }
        await context.RecordAsync("tag-rollback", $"{reference} -> {to}", cancellationToken);
        await context.Output.WriteLineAsync($"{reference} -> {to}");
        return AdminCli.Ok;
    }

    private static ImageReference? ParseTag(string text, out string problem)
    {
        var reference = ImageReference.Parse(text, out problem);
        if (reference is { Tag: null })
        {
            problem = $"'{text}' names a digest; give REPO:TAG";
            return null;
        }
        return reference;
    }
}
