using System.CommandLine;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Registry.Auth;
using Registry.Collection;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Events;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin repo delete NAME [--dry-run]</c> and <c>registry-admin usage [--repo PATTERN]</c>: removing a
/// whole repository, and what each repository holds and the account stores.
/// </summary>
internal static class RepositoryCommands
{
    public static Command BuildRepo(Option<string?> connectionString)
    {
        var name = new Argument<string>("name") { Description = "The repository, e.g. team/app." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be deleted, and delete nothing." };
        var delete = new Command("delete", "Deletes every tag, manifest, blob link and upload of a repository; garbage collection reclaims its content.") { name, dryRun };
        delete.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => DeleteAsync(c, p.GetValue(name)!, p.GetValue(dryRun), ct)));
        return new Command("repo", "Manages repositories.") { delete };
    }

    public static Command BuildUsage(Option<string?> connectionString)
    {
        var repo = new Option<string?>("--repo") { Description = "Only repositories matching this pattern: '*', '<name>/*' or a name." };
        var usage = new Command("usage", "Prints, per repository, tags, manifests, blobs and the bytes they link; then the whole registry's unique bytes.") { repo };
        usage.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => UsageAsync(c, p.GetValue(repo), ct)));
        return usage;
    }

    public static async Task<int> DeleteAsync(AdminContext context, string text, bool dryRun, CancellationToken cancellationToken)
    {
        if (!RepositoryName.TryParse(text, out var repository))
        {
            return await context.FailAsync([$"'{text}' is not a repository name (lowercase letters and digits separated by '.', '_', '__', '-' or '/')"]);
        }
        await context.PrepareAsync(cancellationToken);
        var report = await context.Registry.GetRequiredService<RepositoryRemoval>().RemoveAsync(repository, dryRun, new ChangeOrigin("cli:" + Environment.UserName), cancellationToken);
        await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{(dryRun ? "would delete" : "deleted")} {report.Manifests} manifests, {report.Blobs} blob links, {report.Uploads} uploads of {repository}"));
        foreach (var kept in report.Kept)
        {
            await context.Error.WriteLineAsync("kept (changed meanwhile, run again): " + kept);
        }
        if (!dryRun)
        {
            await context.RecordAsync("repo-delete", repository.Value, cancellationToken);
        }
        return report.Kept.Count == 0 ? AdminCli.Ok : AdminCli.UserError;
    }

    public static async Task<int> UsageAsync(AdminContext context, string? pattern, CancellationToken cancellationToken)
    {
        if (pattern is not null && AnonymousPullRules.ValidatePattern(pattern) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        var unique = new Dictionary<Digest, long>();
        await context.Output.WriteLineAsync("repository\ttags\tmanifests\tblobs\tlogical-bytes");
        await foreach (var usage in UsagesAsync(context, pattern, cancellationToken))
        {
            foreach (var (digest, size) in usage.Linked)
            {
                unique[digest] = size;
            }
            await context.Output.WriteLineAsync(string.Join('\t', usage.Repository, Text(usage.Tags), Text(usage.Manifests), Text(usage.Blobs), Text(usage.LinkedBytes)));
        }
        await context.Output.WriteLineAsync($"(these repositories)\t\t\t{Text(unique.Count)}\t{Text(unique.Values.Sum())} unique");
        var (digests, bytes) = await context.Registry.GetRequiredService<RepositoryRows>().StoredContentAsync(cancellationToken);
        await context.Output.WriteLineAsync($"(stored, whole registry)\t\t\t{Text(digests)}\t{Text(bytes)} unique");
        return AdminCli.Ok;
    }

    /// <summary>What each repository of the catalog matching <paramref name="pattern"/> (all when null) holds, in name order.</summary>
    internal static async IAsyncEnumerable<RepositoryUsage> UsagesAsync(
        AdminContext context, string? pattern, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var rows = context.Registry.GetRequiredService<RepositoryRows>();
        var rule = new AccessRule(pattern ?? "*", []);
        await foreach (var name in context.Registry.GetRequiredService<Catalog>().ListAsync(null, int.MaxValue, cancellationToken))
        {
            if (rule.Matches(name) && RepositoryName.TryParse(name, out var repository))
            {
                yield return await rows.UsageAsync(repository, cancellationToken);
            }
        }
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
