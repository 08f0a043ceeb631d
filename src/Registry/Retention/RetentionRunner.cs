using Microsoft.Extensions.Logging;
using Registry.Diagnostics;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Audit;
using Registry.Storage.Events;
using Registry.Storage.Manifests;
using Registry.Storage.Policies;
using Registry.Storage.References;
using Registry.Storage.Tags;

namespace Registry.Retention;

/// <summary>
/// Applies the retention policies (<see cref="RetentionPolicies"/>) to every repository one matches: first its tags
/// (each kept by the first rule that keeps it, else deleted), then the manifests no tag points at any more. A dry run
/// decides the same way from the same reads and deletes nothing, so a real run that follows on an unchanged registry
/// deletes exactly what the dry run listed.
///
/// <para>It never deletes a locked or immutable tag, a locked manifest, a manifest a manifest that stays lists (an
/// index's platform manifests: an index goes before its entries), or a referrer (signatures, SBOMs go with their
/// subject, which garbage collection takes care of once the subject is deleted). Every delete is conditional on what
/// it decided on: a tag pushed since it was examined, or a manifest tagged since, stays. So a run is safe on several
/// instances at once and against pushes, and running it again deletes nothing more. Storage calls follow the tags and
/// manifests of the matching repositories: one query each for tags and manifests, one for the uses of each untagged
/// candidate, and the deletes. Each deletion is written to the audit log as actor <c>retention</c> with its reason;
/// layers and bytes are reclaimed by garbage collection afterwards.</para>
/// </summary>
public sealed partial class RetentionRunner(
    RetentionPolicies policies, Catalog catalog, TagStore tags, ManifestStore manifests, ManifestUses uses, ImmutableTags immutable,
    AuditLog audit, TimeProvider time, ILogger<RetentionRunner> logger)
{
    public const string Actor = "retention";

    private static readonly ChangeOrigin Origin = new(Actor);

    /// <summary>One run over every repository a policy matches (only those matching <paramref name="only"/>, when given).</summary>
    public async Task<RetentionReport> RunAsync(bool dryRun, string? only, CancellationToken cancellationToken)
    {
        var report = new RetentionReport { DryRun = dryRun };
        var all = await policies.ListAsync(cancellationToken);
        if (all.Count > 0)
        {
            await foreach (var name in catalog.ListAsync(null, int.MaxValue, cancellationToken))
            {
                if ((only is null || RepositoryPatterns.Matches(only, name))
                    && RetentionPolicies.For(all, name) is { } policy && RepositoryName.TryParse(name, out var repository))
                {
                    report.Repositories++;
                    await ApplyAsync(repository, policy, report, cancellationToken);
                }
            }
        }
        if (!dryRun)
        {
            await AuditAsync(report, cancellationToken);
        }
        LogRun(logger, report.Summary);
        return report;
    }

    private async Task ApplyAsync(RepositoryName repository, RetentionPolicy policy, RetentionReport report, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var listed = await tags.ListDetailedAsync(repository, cancellationToken);
        report.TagsExamined += listed.Count;
        if (await tags.RefuseLockedRepositoryAsync(repository, cancellationToken) is { } locked)
        {
            // Nothing of a locked repository goes: the dry run says so for each tag, as the real run would find.
            foreach (var tag in listed)
            {
                report.Add(new RetentionDecision(repository.Value, RetainedKind.Tag, tag.Tag.Value, tag.Digest, 0, false, locked.Detail ?? "repository locked"));
            }
            return;
        }
        var remaining = new HashSet<Digest>();
        if (policy.PrunesTags)
        {
            var newest = listed.Where(t => TagPatterns.Matches(policy.KeepLastTags, t.Tag.Value))
                .OrderByDescending(t => t.Moved).ThenBy(t => t.Tag.Value, StringComparer.Ordinal)
                .Take(policy.KeepLast ?? 0).Select(t => t.Tag).ToHashSet();
            foreach (var tag in listed)
            {
                var keep = tag.Locked ? "locked"
                    : await immutable.MatchAsync(repository, tag.Tag, cancellationToken) is { } rule ? $"immutable (rule '{rule}')"
                    : policy.KeepTags is { } always && TagPatterns.Matches(always, tag.Tag.Value) ? $"matches '{always}'"
                    : policy.KeepWithin is { } within && now - tag.Moved < within ? $"pushed {tag.Moved:u}, within {Durations.Format(within)}"
                    : newest.Contains(tag.Tag) ? $"one of the {policy.KeepLast} most recently pushed '{policy.KeepLastTags}' tags"
                    : null;
                var deleted = keep is null;
                var reason = keep ?? $"pushed {tag.Moved:u}; no rule of the policy for {policy.RepositoryPattern} keeps it ({policy})";
                if (deleted && !report.DryRun
                    && (await tags.UntagAsync(repository, tag.Tag, Origin, cancellationToken, tag.ETag)).Error is { } refused)
                {
                    (deleted, reason) = (false, refused.Detail ?? refused.Message);
                }
                if (!deleted)
                {
                    remaining.Add(tag.Digest);
                }
                report.Add(new RetentionDecision(repository.Value, RetainedKind.Tag, tag.Tag.Value, tag.Digest, 0, deleted, reason));
            }
        }
        else
        {
            remaining.UnionWith(listed.Select(t => t.Digest));
        }
        if (policy.DeleteUntaggedAfter is { } after)
        {
            await DeleteUntaggedAsync(repository, remaining, now - after, policy, report, cancellationToken);
        }
    }

    /// <summary>
    /// The untagged manifests pushed before <paramref name="before"/>: decided all together (a manifest listed only by
    /// manifests that go too goes with them), then deleted listing manifests first.
    /// </summary>
    private async Task DeleteUntaggedAsync(
        RepositoryName repository, HashSet<Digest> tagged, DateTimeOffset before, RetentionPolicy policy, RetentionReport report, CancellationToken cancellationToken)
    {
        var users = new Dictionary<Digest, IReadOnlyList<Digest>>();
        var candidates = new Dictionary<Digest, ManifestSummary>();
        foreach (var manifest in await manifests.ListAsync(repository, cancellationToken))
        {
            if (tagged.Contains(manifest.Digest) || manifest.Pushed >= before)
            {
                continue;
            }
            var why = manifest.Locked ? "locked"
                : manifest.Subject is { } subject ? $"a referrer of {subject}: it goes with its subject"
                : null;
            if (why is not null)
            {
                report.Add(new RetentionDecision(repository.Value, RetainedKind.Manifest, null, manifest.Digest, manifest.Size, false, $"untagged, but {why}"));
                continue;
            }
            candidates[manifest.Digest] = manifest;
            users[manifest.Digest] = [.. (await uses.FindUsersAsync(repository, manifest.Digest, cancellationToken, removeStale: false)).Select(u => u.Manifest)];
        }
        // A candidate stays when a manifest that stays lists it; repeat until nothing changes.
        var going = candidates.Keys.ToHashSet();
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var digest in going.ToList())
            {
                var keepers = users[digest].Where(user => !going.Contains(user)).ToList();
                if (keepers.Count > 0)
                {
                    going.Remove(digest);
                    changed = true;
                    report.Add(new RetentionDecision(repository.Value, RetainedKind.Manifest, null, digest, candidates[digest].Size, false,
                        $"untagged, but listed by {keepers[0]}, which stays"));
                }
            }
        }
        // Listing manifests first: a manifest goes once nothing that goes too still lists it.
        var order = new List<Digest>();
        var left = going.ToHashSet();
        while (left.Count > 0)
        {
            var next = left.Where(d => !users[d].Any(left.Contains)).OrderBy(d => d.Value, StringComparer.Ordinal).ToList();
            order.AddRange(next.Count > 0 ? next : left);
            left.ExceptWith(next.Count > 0 ? next : [.. left]);
        }
        foreach (var digest in order)
        {
            var manifest = candidates[digest];
            var reason = $"untagged and pushed {manifest.Pushed:u}, more than {Durations.Format(policy.DeleteUntaggedAfter!.Value)} ago";
            var deleted = true;
            if (!report.DryRun && (await manifests.DeleteAsync(repository, digest, Origin, cancellationToken, untaggedOnly: true)).Error is { } refused
                && refused.Failure != Failure.ManifestUnknown)
            {
                (deleted, reason) = (false, refused.Detail ?? refused.Message);
            }
            report.Add(new RetentionDecision(repository.Value, RetainedKind.Manifest, null, digest, manifest.Size, deleted, reason));
        }
    }

    private async Task AuditAsync(RetentionReport report, CancellationToken cancellationToken)
    {
        var at = time.GetUtcNow();
        var entries = report.Decisions.Where(d => d.Deleted).Select(d => new AuditEntry(
            at, Actor, d.Kind == RetainedKind.Tag ? "retention-delete-tag" : "retention-delete-manifest", d.Repository,
            d.Tag ?? d.Digest.Value, 200, null, null, "RETENTION", d.Reason));
        if (await audit.WriteAllAsync(entries, cancellationToken) is { Failed: > 0 } failure)
        {
            LogAuditFailed(logger, failure.Failed, failure.Last!);
        }
    }

    [LoggerMessage(EventId = LogEvents.Retention + 1, Level = LogLevel.Information, Message = "retention: {Summary}")]
    private static partial void LogRun(ILogger logger, string summary);

    [LoggerMessage(EventId = LogEvents.Retention + 2, Level = LogLevel.Error, Message = "retention: {Count} audit records of deletions could not be written")]
    private static partial void LogAuditFailed(ILogger logger, int count, Exception exception);
}
