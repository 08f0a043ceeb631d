using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Storage.Manifests;
using Registry.Storage.Policies;
using Registry.Storage.Tags;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin lock REPO:TAG|REPO@DIGEST|REPO|PATTERN</c> and <c>unlock</c>: a locked tag can be neither moved nor
/// deleted (by a push, a DELETE, a delete of its manifest or a rollback); a locked manifest cannot be deleted; a locked
/// repository (or every repository of a pattern, <c>'team/*'</c>) is pulled as before and nothing is pushed to it or
/// deleted from it (<see cref="RepositoryLocks"/>). Refusals are 403 DENIED naming the lock.
/// </summary>
internal static class LockCommands
{
    public static IEnumerable<Command> Build(Option<string?> connectionString)
    {
        foreach (var locked in new[] { true, false })
        {
            var target = new Argument<string>("reference") { Description = "REPO:TAG, REPO@DIGEST, a repository or a pattern ('team/*', '*')." };
            var command = new Command(locked ? "lock" : "unlock",
                locked ? "Locks a tag (no move, no delete), a manifest (no delete) or repositories (no push, no delete)."
                    : "Removes the lock of a tag, a manifest or repositories.") { target };
            command.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => SetAsync(c, p.GetValue(target)!, locked, ct)));
            yield return command;
        }
    }

    public static async Task<int> SetAsync(AdminContext context, string text, bool locked, CancellationToken cancellationToken)
    {
        if (!text.Contains(':', StringComparison.Ordinal) && !text.Contains('@', StringComparison.Ordinal))
        {
            return await SetRepositoryAsync(context, text, locked, cancellationToken);
        }
        if (ImageReference.Parse(text, out var problem) is not { } reference)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        var set = reference.Tag is { } tag
            ? await context.Registry.GetRequiredService<TagStore>().SetLockAsync(reference.Repository, tag, locked, cancellationToken)
            : await context.Registry.GetRequiredService<ManifestStore>().SetLockAsync(reference.Repository, reference.Digest!.Value, locked, cancellationToken);
        if (set.Error is { } refused)
        {
            return await context.FailAsync([refused.Detail ?? refused.Message]);
        }
        await context.RecordAsync(locked ? "lock" : "unlock", reference.ToString(), cancellationToken);
        await context.Output.WriteLineAsync($"{(locked ? "locked" : "unlocked")} {reference}");
        return AdminCli.Ok;
    }

    private static async Task<int> SetRepositoryAsync(AdminContext context, string pattern, bool locked, CancellationToken cancellationToken)
    {
        if (RepositoryPatterns.Validate(pattern) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        var locks = context.Registry.GetRequiredService<RepositoryLocks>();
        if (locked)
        {
            await locks.LockAsync(pattern, "cli:" + Environment.UserName, cancellationToken);
        }
        else if (!await locks.UnlockAsync(pattern, cancellationToken))
        {
            return await context.FailAsync([$"'{pattern}' is not locked"]);
        }
        await context.RecordAsync(locked ? "lock" : "unlock", pattern, cancellationToken);
        await context.Output.WriteLineAsync(
            $"{(locked ? "locked" : "unlocked")} repositories '{pattern}' (running registries apply it within {RepositoryLocks.RefreshInterval.TotalSeconds:0} seconds)");
        return AdminCli.Ok;
    }
}
