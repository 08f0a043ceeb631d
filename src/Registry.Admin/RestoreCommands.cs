using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Events;
using Registry.Storage.Manifests;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin restore REPO:TAG|REPO@DIGEST [--force]</c>: brings back a tag or a manifest deleted within the
/// soft-delete window (a manifest with its tags, a tag with its manifest); <c>registry-admin deleted [--repo PATTERN]</c>:
/// what can be restored now.
/// </summary>
internal static class RestoreCommands
{
    public static Command BuildRestore(Option<string?> connectionString)
    {
        var target = new Argument<string>("reference") { Description = "REPO:TAG or REPO@DIGEST, as 'registry-admin deleted' lists it." };
        var force = new Option<bool>("--force") { Description = "Move a tag that now points elsewhere back (an audited move; refused on a locked or immutable tag)." };
        var restore = new Command("restore", "Restores a deleted tag or manifest while its soft-delete window lasts.") { target, force };
        restore.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => RestoreAsync(c, p.GetValue(target)!, p.GetValue(force), ct)));
        return restore;
    }

    public static Command BuildDeleted(Option<string?> connectionString)
    {
        var repo = new Option<string>("--repo") { Description = "Repositories matching this pattern: '*', '<name>/*' or a name.", DefaultValueFactory = _ => "*" };
        var deleted = new Command("deleted", "Lists deleted tags and manifests that can still be restored: kind, reference, digest, deleted, restorable until, actor.") { repo };
        deleted.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => ListAsync(c, p.GetValue(repo)!, ct)));
        return deleted;
    }

    public static async Task<int> RestoreAsync(AdminContext context, string text, bool force, CancellationToken cancellationToken)
    {
        if (ImageReference.Parse(text, out var problem) is not { } reference)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        var softDeletes = context.Registry.GetRequiredService<SoftDeletes>();
        var origin = new ChangeOrigin("cli:" + Environment.UserName);
        List<string> restored;
        if (reference.Tag is { } tag)
        {
            var outcome = await softDeletes.RestoreTagAsync(reference.Repository, tag, force, origin, cancellationToken);
            if (outcome.Error is { } refused)
            {
                return await context.FailAsync([refused.Detail ?? refused.Message]);
            }
            restored = [$"{reference} -> {outcome.Value}"];
        }
        else
        {
            var outcome = await softDeletes.RestoreManifestAsync(reference.Repository, reference.Digest!.Value, force, origin, cancellationToken);
            if (!outcome.Succeeded)
            {
                return await context.FailAsync([outcome.Error.Detail ?? outcome.Error.Message]);
            }
            restored = [reference.ToString(), .. outcome.Value.Select(t => $"{reference.Repository}:{t} -> {reference.Digest}")];
        }
        await context.RecordAsync("restore", string.Join(", ", restored), cancellationToken);
        foreach (var line in restored)
        {
            await context.Output.WriteLineAsync("restored " + line);
        }
        return AdminCli.Ok;
    }

    public static async Task<int> ListAsync(AdminContext context, string pattern, CancellationToken cancellationToken)
    {
        if (RepositoryPatterns.Validate(pattern) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        var softDeletes = context.Registry.GetRequiredService<SoftDeletes>();
        await context.Output.WriteLineAsync("kind\treference\tdigest\tdeleted\trestorable-until\tactor");
        await foreach (var name in context.Registry.GetRequiredService<Catalog>().ListAsync(null, int.MaxValue, cancellationToken))
        {
            if (!RepositoryPatterns.Matches(pattern, name) || !RepositoryName.TryParse(name, out var repository))
            {
                continue;
            }
            foreach (var item in await softDeletes.ListAsync(repository, cancellationToken))
            {
                await context.Output.WriteLineAsync(string.Join('\t', item.Kind, item.Reference, item.Digest.Value,
                    Time(item.DeletedAt), Time(item.RestorableUntil), item.Actor ?? "-"));
            }
        }
        return AdminCli.Ok;
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
