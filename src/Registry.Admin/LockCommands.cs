using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Registry.Storage.Manifests;
using Registry.Storage.Tags;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin lock REPO:TAG|REPO@DIGEST</c> and <c>unlock</c>: a locked tag can be neither moved nor deleted (by a
/// push, a DELETE, a delete of its manifest or a rollback); a locked manifest cannot be deleted. Refusals are 403 DENIED
/// naming the lock.
/// </summary>
internal static class LockCommands
{
    public static IEnumerable<Command> Build(Option<string?> connectionString)
    {
        foreach (var locked in new[] { true, false })
        {
            var target = new Argument<string>("reference") { Description = "REPO:TAG or REPO@DIGEST." };
            var command = new Command(locked ? "lock" : "unlock",
                locked ? "Locks a tag (no move, no delete) or a manifest (no delete)." : "Removes the lock of a tag or a manifest.") { target };
            command.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => SetAsync(c, p.GetValue(target)!, locked, ct)));
            yield return command;
        }
    }

    public static async Task<int> SetAsync(AdminContext context, string text, bool locked, CancellationToken cancellationToken)
    {
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
}
