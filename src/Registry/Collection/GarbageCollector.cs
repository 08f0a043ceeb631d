using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Diagnostics;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Audit;
using Registry.Storage.Blobs;
using Registry.Storage.Events;
using Registry.Storage.Manifests;
using Registry.Storage.References;
using Registry.Storage.Reviews;
using Registry.Storage.Tags;

namespace Registry.Collection;

/// <summary>
/// Online garbage collection: takes up the reviews that changes left (<see cref="GarbageReviews"/>) once their grace
/// period passed, decides each again from what storage holds now, and deletes what nothing uses, every delete
/// conditional on the ETag it decided on. What it keeps, whatever runs concurrently: every blob, link and manifest
/// that a tagged manifest reaches (as config, layer, index entry), and every referrer whose subject is there.
///
/// <para>In steps, each on its own review: a link no manifest of its repository uses goes (a push that touches it
/// first keeps it: <see cref="ManifestUses"/>), which releases the content's reference; content that no repository
/// references any more goes one grace period later (a reference added meanwhile keeps it:
/// <see cref="ContentIndex.AddReferenceAsync"/>). A deleted manifest's review collects the links it used, the
/// untagged index entries nothing else lists, the referrers of it, and the blob that held its bytes.</para>
///
/// <para>Safe to run on several instances at once and to kill at any point: a review is removed only after it was acted
/// on, acting twice deletes nothing twice (the second conditional delete finds a changed or missing row), and the next
/// run finishes what a killed one left. A soft-deleted manifest's review is keyed at the end of its restore window, and
/// the run removes its <c>deleted:</c> row before it collects anything of it, so a restore either committed first (and
/// what it used is in use again) or fails. Every deletion is written to the audit log, as actor <c>gc</c>, with its reason.</para>
/// </summary>
public sealed partial class GarbageCollector(
    GarbageReviews reviews, BlobLinks links, ContentIndex content, ManifestUses uses, ManifestStore manifests, TagStore tags,
    DeletedManifests softDeleted, AuditLog audit, IOptions<CollectionOptions> options, TimeProvider time, ILogger<GarbageCollector> logger)
{
    public const string Actor = "gc";

    private static readonly ChangeOrigin Origin = new(Actor);

    /// <summary>One run: everything due now. With <paramref name="dryRun"/>, says what it would delete and deletes nothing.</summary>
    public async Task<CollectionReport> RunAsync(bool dryRun, CancellationToken cancellationToken)
    {
        var report = new CollectionReport { DryRun = dryRun };
        var now = time.GetUtcNow();
        var grace = options.Value.Grace;
        await foreach (var marker in reviews.MarkersAsync(content: false, cancellationToken))
        {
            if (!RepositoryName.TryParse(TableKeys.RepositoryFromKey(marker.Key), out var repository))
            {
                continue;
            }
            await foreach (var review in reviews.DueAsync(false, marker.Key, TableKeys.LinkReviewPrefix, now - options.Value.UnusedBlobGrace, cancellationToken))
            {
                report.ReviewsExamined++;
                await CollectLinkAsync(repository, review.Digest, $"no manifest of the repository has used it since it was uploaded {review.RecordedAt:u}", report, cancellationToken);
                await CompleteAsync(false, review, report, cancellationToken);
            }
            await foreach (var review in reviews.DueAsync(false, marker.Key, TableKeys.ManifestReviewPrefix, now - grace, cancellationToken))
            {
                report.ReviewsExamined++;
                // A soft-deleted manifest's window is over: no restore may succeed from here on (see DeletedManifests). A dry
                // run ends nothing, and decides as if it had.
                Digest? ending = null;
                if (!dryRun)
                {
                    await softDeleted.EndAsync(repository, review.Digest, review.RowKey, cancellationToken);
                }
                else if ((await softDeleted.FindAsync(repository, review.Digest, cancellationToken))?.ReviewRow == review.RowKey)
                {
                    ending = review.Digest;
                }
                await CollectAfterDeleteAsync(repository, review, ending, report, cancellationToken);
                await CompleteAsync(false, review, report, cancellationToken);
            }
            if (!dryRun)
            {
                await reviews.TryUnmarkAsync(false, marker, cancellationToken);
            }
        }
        await foreach (var marker in reviews.MarkersAsync(content: true, cancellationToken))
        {
            await foreach (var review in reviews.DueAsync(true, marker.Key, TableKeys.ReviewPrefix, now - grace, cancellationToken))
            {
                report.ReviewsExamined++;
                if (await content.CollectAsync(review.Digest, review.Row.ContentBlob, now - grace, dryRun, cancellationToken) is { } gone)
                {
                    report.Add(new CollectedItem(CollectedKind.Content, null, review.Digest, gone.Size,
                        $"no repository has referenced it since {review.RecordedAt:u}"));
                }
                await CompleteAsync(true, review, report, cancellationToken);
            }
            if (!dryRun)
            {
                await reviews.TryUnmarkAsync(true, marker, cancellationToken);
            }
        }
        if (!dryRun)
        {
            await AuditAsync(report, now, cancellationToken);
        }
        LogRun(logger, report.Summary);
        return report;
    }

    private async Task CompleteAsync(bool contentReview, Review review, CollectionReport report, CancellationToken cancellationToken)
    {
        if (!report.DryRun)
        {
            await reviews.CompleteAsync(contentReview, review, cancellationToken);
        }
    }

    /// <summary>Removes a blob link that no manifest of its repository uses and that nothing wrote for a grace period.</summary>
    private async Task CollectLinkAsync(
        RepositoryName repository, Digest digest, string reason, CollectionReport report, CancellationToken cancellationToken, Digest? ending = null)
    {
        var settled = time.GetUtcNow() - options.Value.Grace;
        var row = await links.FindRowAsync(repository, digest, cancellationToken);
        if (row is null)
        {
            // Gone already: a collector killed after deleting it may have left the content reference behind.
            if (!report.DryRun)
            {
                await content.ReleaseAsync(digest, repository, cancellationToken, unchangedSince: settled);
            }
            return;
        }
        if (row.WrittenAt is not { } written || written > settled)
        {
            return; // linked or used again recently: a newer review covers it
        }
        if (await IsUsedAsync(repository, digest, report.DryRun, ending, cancellationToken))
        {
            return;
        }
        if (report.DryRun || await links.DeleteIfUnchangedAsync(repository, digest, row, cancellationToken))
        {
            report.Add(new CollectedItem(CollectedKind.Link, repository.Value, digest, row.Size, reason));
        }
    }

    /// <summary>What a deleted manifest used: its blobs, its index entries, its referrers, and the blob of its bytes.</summary>
    /// <param name="ending">In a dry run, the soft-deleted manifest whose window this review ends: it keeps nothing.</param>
    private async Task CollectAfterDeleteAsync(RepositoryName repository, Review review, Digest? ending, CollectionReport report, CancellationToken cancellationToken)
    {
        var deleted = review.Digest;
        var deletedAt = review.Row.Deleted ?? review.RecordedAt;
        var body = review.Row.Content ?? (review.Row.ContentBlob is { } blob ? await manifests.ReadContentBlobAsync(blob, cancellationToken) : null);
        var document = body is null ? null : ManifestParser.Parse(body, review.Row.MediaType, out _);
        if (document is not null)
        {
            var blobs = (document.Config is null ? document.Layers : [document.Config, .. document.Layers])
                .Where(d => !d.IsForeign).Select(d => d.Digest).Distinct();
            foreach (var used in blobs)
            {
                await CollectLinkAsync(repository, used, $"manifest {deleted}, which used it, was deleted {deletedAt:u}", report, cancellationToken, ending);
            }
            foreach (var child in document.Manifests.Select(d => d.Digest).Distinct())
            {
                await CollectManifestAsync(repository, child, $"index {deleted}, which listed it, was deleted {deletedAt:u}", report, cancellationToken, ending);
            }
        }
        else
        {
            LogUnreadable(logger, repository.Value, deleted.Value);
        }
        if (await manifests.FindByDigestAsync(repository, deleted, withContent: false, cancellationToken) is null)
        {
            foreach (var referrer in await manifests.ReferrersAsync(repository, deleted, null, cancellationToken))
            {
                await CollectManifestAsync(repository, referrer.Digest, $"its subject {deleted} was deleted {deletedAt:u}", report, cancellationToken);
            }
        }
        if (review.Row.ContentBlob is { } bytes && !TableKeys.IsSharedManifestBlobName(bytes)
            && (report.DryRun || await manifests.DeleteContentBlobAsync(repository, deleted, bytes, cancellationToken)))
        {
            report.Add(new CollectedItem(CollectedKind.ManifestBytes, repository.Value, deleted, body?.Length ?? 0,
                $"manifest {deleted}, whose bytes it held, was deleted {deletedAt:u}"));
        }
    }

    /// <summary>
    /// Deletes a manifest that only something deleted reached: untagged, listed by no index of the repository, and with
    /// no referrer that is itself kept (tagged or listed).
    /// </summary>
    private async Task CollectManifestAsync(
        RepositoryName repository, Digest digest, string reason, CollectionReport report, CancellationToken cancellationToken, Digest? ending = null)
    {
        var manifest = await manifests.FindByDigestAsync(repository, digest, withContent: false, cancellationToken);
        if (manifest is null || !await IsUnreachedAsync(repository, digest, report.DryRun, ending, cancellationToken))
        {
            return;
        }
        foreach (var referrer in await manifests.ReferrersAsync(repository, digest, null, cancellationToken))
        {
            if (!await IsUnreachedAsync(repository, referrer.Digest, report.DryRun, ending, cancellationToken))
            {
                return; // a kept signature or SBOM keeps its subject
            }
        }
        if (report.DryRun || (await manifests.DeleteAsync(repository, digest, Origin, cancellationToken, untaggedOnly: true, restorable: false)).Succeeded)
        {
            report.Add(new CollectedItem(CollectedKind.Manifest, repository.Value, digest, manifest.Size, reason));
        }
    }

    private async Task<bool> IsUnreachedAsync(RepositoryName repository, Digest digest, bool dryRun, Digest? ending, CancellationToken cancellationToken) =>
        (await tags.PointingAtAsync(repository, digest, cancellationToken)).Count == 0
        && !await IsUsedAsync(repository, digest, dryRun, ending, cancellationToken);

    /// <summary>Whether a manifest of the repository uses <paramref name="target"/>: live, being pushed, or soft-deleted (other than <paramref name="ending"/>).</summary>
    private async Task<bool> IsUsedAsync(RepositoryName repository, Digest target, bool dryRun, Digest? ending, CancellationToken cancellationToken) =>
        (await uses.FindUsersAsync(repository, target, cancellationToken, removeStale: !dryRun)).Any(user => !(user.SoftDeleted && user.Manifest == ending));

    private async Task AuditAsync(CollectionReport report, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var entries = report.Items.Select(item => new AuditEntry(
            at, Actor, "gc-delete-" + item.Kind.ToString().ToLowerInvariant(), item.Repository, item.Digest.Value, 200,
            null, null, "GC", item.Reason));
        if (await audit.WriteAllAsync(entries, cancellationToken) is { Failed: > 0 } failure)
        {
            LogAuditFailed(logger, failure.Failed, failure.Last!);
        }
    }

    [LoggerMessage(EventId = LogEvents.Collection + 1, Level = LogLevel.Information, Message = "garbage collection: {Summary}")]
    private static partial void LogRun(ILogger logger, string summary);

    [LoggerMessage(EventId = LogEvents.Collection + 2, Level = LogLevel.Warning, Message = "garbage collection: the deleted manifest {Digest} of {Repository} could not be read; what it used is reviewed when next touched")]
    private static partial void LogUnreadable(ILogger logger, string repository, string digest);

    [LoggerMessage(EventId = LogEvents.Collection + 3, Level = LogLevel.Error, Message = "garbage collection: {Count} audit records of deletions could not be written")]
    private static partial void LogAuditFailed(ILogger logger, int count, Exception exception);
}
