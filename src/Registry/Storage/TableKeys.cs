using Registry.Oci;

namespace Registry.Storage;

/// <summary>
/// The layout of everything the registry stores, and the one place that builds storage keys.
///
/// <para><b>Blob container <c>registry</c></b> (the bytes):</para>
/// <list type="bullet">
/// <item><c>data/&lt;uploadId&gt;</c>: a blob's bytes. Each upload stages blocks under its own name and commits
///   the block list once the digest matched, so the bytes never move or get copied afterwards. Which name holds
///   a digest is recorded in the <c>blobs</c> table. Blocks that are never committed expire after 7 days.</item>
/// <item><c>manifests/&lt;algorithm&gt;/&lt;hex&gt;</c>: a manifest too large to live inline in its Table entity.</item>
/// </list>
///
/// <para><b>Table <c>repositories</c></b> (per-repository state). One partition per repository, so that a
/// manifest, the tag that moves to it, its referrer entry and its event are written in one atomic entity-group
/// transaction. PartitionKey = <see cref="Repository"/>(name). RowKeys:</para>
/// <list type="bullet">
/// <item><c>tag:&lt;tag&gt;</c>: Digest, MediaType, Size and the manifest bytes when small (a GET by tag is one read);
///   Locked when the tag may be neither moved nor deleted.</item>
/// <item><c>taghistory:&lt;tag&gt;:&lt;19-digit (DateTime.MaxValue − at) ticks&gt;:&lt;id&gt;</c>: one move of the tag (Digest
///   after, empty when deleted; Previous, empty when created; Action push, delete or rollback; Actor; At), written in the
///   move's own transaction, newest first in key order. Kept as long as the repository (nothing prunes them yet).</item>
/// <item><c>manifest:&lt;digest&gt;</c>: MediaType, Size, Content (inline ≤ 64 KiB) or ContentBlob, Subject, ArtifactType;
///   Locked when it may not be deleted (a push merges into the row, so a repeated push keeps the lock).</item>
/// <item><c>blob:&lt;digest&gt;</c>: Size, BlobName: this repository may read this blob (a "link").</item>
/// <item><c>upload:&lt;uploadId&gt;</c>: an upload session: BlobName, Offset, HashState (SHA-256 context), Segments (block list).</item>
/// <item><c>referrer:&lt;subject digest&gt;:&lt;digest&gt;</c>: a manifest whose <c>subject</c> is that digest.</item>
/// <item><c>usedby:&lt;target digest&gt;:&lt;manifest digest&gt;</c>: that manifest uses the target, a blob (config or
///   layer) or a child manifest (index entry); Pending when written ahead of a large manifest's own transaction. A
///   <c>subject</c> is not a use: a subject may be deleted, and its referrers go with it.</item>
/// <item><c>event:&lt;19-digit ticks&gt;:&lt;id&gt;</c>: the outbox: one row per push or delete, written in the same
///   transaction as the change; the events feature publishes and removes them.</item>
/// <item><c>sent:&lt;ticks&gt;:&lt;id&gt;</c>, <c>dead:&lt;ticks&gt;:&lt;id&gt;</c>: an event a sink acknowledged, or one given up
///   after <c>Events:MaxAttempts</c> rejections (LastError, Attempts); moved from its <c>event:</c> row in one transaction
///   conditional on the ETag read, kept for <c>Events:Retention</c> (listing, replay), then pruned by the sweep.</item>
/// <item><c>lease:events</c>: Owner, Until: the one publisher draining the partition's outbox, so its events go out in
///   commit order. Taken by insert (or, once Until passed, by a replace conditional on the ETag read); renewed and
///   given up conditionally on the holder's own ETag, so a holder that lost it to a takeover stops.</item>
/// <item><c>review:link:&lt;19-digit ticks&gt;:&lt;digest&gt;</c>: a link written then, for the collector to check after
///   <c>GarbageCollection:UnusedBlobGrace</c> whether any manifest uses it; written in the link's transaction.</item>
/// <item><c>review:manifest:&lt;ticks&gt;:&lt;digest&gt;</c>: a manifest deleted then, with its bytes (MediaType, Content or
///   ContentBlob), for the collector to check what it used after <c>GarbageCollection:Grace</c>; written in the
///   delete's transaction. For a soft-deleted manifest the ticks are the end of its restore window (Deleted: when it
///   was deleted), so the collector takes it up a grace period after the window.</item>
/// <item><c>deleted:&lt;digest&gt;</c>: a soft-deleted manifest (MediaType, Size, Review: its review row's key, Tags: the
///   tags its delete removed, Actor, DeletedAt, Until = DeletedAt + <c>Lifecycle:SoftDeleteWindow</c>), written in the
///   delete's transaction by a client's or retention's delete when the window is above 0; removed by a restore or by
///   the collector (see "Soft delete" below). A push of the same digest leaves it; readers check the manifest row.</item>
/// </list>
/// <para>PartitionKey <c>~catalog</c>, RowKey = <see cref="Repository"/>(name): the repository list
/// (<c>~</c> can start no repository name). PartitionKey <c>~gc</c>, RowKey = <see cref="Repository"/>(name): the
/// repository has review rows (see <see cref="Reviews.GarbageReviews"/> for when it is written and removed). PartitionKey
/// <c>~events</c>, same RowKeys: the repository has event rows in any state (<see cref="Events.Outbox"/>). Both follow
/// <see cref="PartitionMarkers"/>' protocol.</para>
///
/// <para><b>Table <c>blobs</c></b> (the global content index). PartitionKey = the digest. RowKeys:</para>
/// <list type="bullet">
/// <item><c>content</c>: BlobName, Size: the committed blob that holds this digest's bytes. Inserted create-only,
///   after the commit, so two identical uploads race safely.</item>
/// <item><c>ref:&lt;repository key&gt;</c>: the repository links this digest. Written before the link and removed
///   after it, so garbage collection can find unreferenced content by reading this partition alone.</item>
/// <item><c>review:&lt;ticks&gt;</c>: a reference removed then (ContentBlob: the blob the content row named), for the
///   collector to delete the content once no reference is left; written in the removal's transaction.</item>
/// </list>
/// <para>PartitionKey <c>~gc</c>, RowKey = the digest: the digest's partition has review rows.</para>
///
/// <para><b>Table <c>policies</c></b> (what an operator sets). PartitionKey <c>immutable</c>, RowKey =
/// <see cref="RepositoryPattern"/>(repository pattern) + <c>:</c> + tag pattern, property Actor: tags matching the tag pattern
/// in repositories matching the other are written once (<see cref="Policies.ImmutableTags"/>). Instances read the
/// partition through a copy reloaded at most every 10 seconds, so a rule applies everywhere within that time.
/// PartitionKey <c>repolock</c>, RowKey = <see cref="RepositoryPattern"/>(repository pattern), property Actor: the
/// repositories it covers are locked, pulled but never pushed to or deleted from (<see cref="Policies.RepositoryLocks"/>),
/// read the same way; a push past its check when the lock is written may still land, which the README states.
/// PartitionKey <c>quota</c>, RowKey = <see cref="RepositoryPattern"/>(repository pattern), properties Bytes, Actor: a
/// storage quota (<see cref="Quotas.StorageQuotas"/>), read the same way. No row counts usage: an instance sums the
/// pattern's <c>blob:</c> links (one range query over its partitions) at most every <c>Quotas:UsageRefresh</c> and adds
/// what it admitted since, so it never undercounts its own pushes; instances pushing at once may pass a quota by what
/// they admit within that time, which the README states.</para>
///
/// <para><b>Protocols that keep these consistent</b> (Table has no cross-partition transactions):</para>
/// <list type="bullet">
/// <item><b>Completing an upload.</b> The block list of <c>data/&lt;uploadId&gt;</c> is committed create-only and
///   stamped (blob metadata <c>digest</c>) with the digest it was committed for; of several requests completing one
///   upload, one creates the blob and the others may only record it for the same digest. The <c>content</c> row is
///   inserted after the commit, create-only; only the request that created a blob may delete it, and only once it
///   proved nothing can name it (the digest is recorded under another blob, or the bytes did not match). A blob
///   committed but never recorded (the request died) is deleted by upload cleanup once its session expired, unless
///   a <c>content</c> row names it. So a <c>content</c> row never names a missing blob.</item>
/// <item><b>Pushing a manifest.</b> One transaction of the repository's partition writes the manifest, its tag,
///   referrer and event rows, one <c>usedby</c> row per target, and touches (merges into) each target's own
///   <c>blob:</c> or <c>manifest:</c> row, which fails the whole transaction if a target is gone. A manifest with
///   more targets than one transaction holds (100 operations) writes pending <c>usedby</c> rows and touches in
///   transactions of their own first.</item>
/// <item><b>Collecting garbage.</b> Each change that may leave something unused writes a review row in its own
///   transaction, after marking its partition in <c>~gc</c>; a collector run reads the marked partitions and the
///   reviews past their grace period, decides again from what storage holds, and deletes conditionally on the ETag it
///   decided on. A link goes only when no live <c>usedby</c> row names it and nothing wrote it for a grace period, and
///   a push's touch of it keeps it. Content goes only when no <c>ref:</c> row is left and its row (touched by every
///   reference added and every one released) is a grace period old; adding a reference touches the row, so it keeps
///   it, and fails when the row is gone, so the upload commits bytes of its own. Bytes are deleted only after the row
///   that names them, a grace period after the last link to them went, when no read cache holds a link any more.
///   Ages are taken from storage's <c>Timestamp</c> against the collector's clock, and review keys carry the writer's
///   clock: instances must keep their clocks within minutes of storage's (Azure's do), which the grace periods (at
///   least 10 minutes) absorb.</item>
/// <item><b>Moving a tag.</b> A push with a tag, a rollback and a DELETE of a tag or of its manifest read the tag row
///   from storage (never from the read cache; a push of a tag this instance does not know skips the read and inserts,
///   which fails when the tag exists, and then reads), refuse when it is Locked (a push of the digest it already points at is no
///   move, and passes) or immutable (an existing tag an immutability rule covers), and write it conditionally on the ETag read (an insert when there was none), with the history
///   row, in the change's own transaction. Locking is a merge conditional on the ETag read. So of a lock and a move
///   that read the same row, one commits and the other fails and reads again: a move never lands on a locked tag, and
///   each history row's Previous is exactly what the move replaced. Concurrent pushes of one tag serialise this way
///   (a push reads again up to 10 times, then answers 503).</item>
/// <item><b>Deleting a manifest or a blob link.</b> Read the target's row (its ETag), refuse when a live
///   <c>usedby</c> row names it, then delete it conditionally on that ETag, in one transaction with every tag that
///   points at it (each conditional on the ETag read). A concurrent push either committed first (its touch or tag
///   write changed an ETag: the delete starts again and sees it) or commits after (its touch finds no row). So a
///   delete is all or nothing, and never removes a tag or a target that a push acknowledged. A manifest with more
///   tags than one transaction holds loses its tags in transactions of their own, then itself; an interruption
///   leaves some tags removed and the manifest still served, and repeating the DELETE finishes it.</item>
/// <item><b>Soft delete.</b> A deleted tag is its history's <c>delete</c> row (Previous = where it pointed); a deleted
///   manifest is its <c>deleted:</c> row and its review row, whose key the window puts off, so no run collects what it
///   used before the window ended. Meanwhile the collector and retention count it as a user of every blob and index
///   entry its <c>usedby</c> rows name (a client's explicit delete of such a blob or entry does not, and is allowed).
///   A restore reads the <c>deleted:</c> row, refuses once the window (the shorter of the recorded one and the one set
///   now) ended, and writes the manifest back as a push does: one transaction touches every target (failing when one is
///   gone), records its uses, writes the manifest and its event, and deletes the <c>deleted:</c> row and the review
///   conditionally on the ETags read. The collector, taking up the review, first deletes the <c>deleted:</c> row
///   (conditionally, and only if the row names this review), then collects. So of a restore and the run that ends the
///   window one wins: the restore committed first (its touches keep every link, whose conditional delete then fails,
///   and its uses are live) or the restore's transaction fails and nothing comes back. Each tag then moves back as a
///   rollback does (action <c>restore</c>, refused on a locked or immutable tag, and on one that points elsewhere unless
///   forced).</item>
/// <item><b>Replicating.</b> A replica's account has this same layout, written only by the <c>replicate</c> function
///   through the same stores and protocols (so its rows agree with each other as the primary's do), never by a client
///   (a replica refuses writes). An event names where to look; the replica reads the primary's current rows, copies
///   each blob it lacks server-side into a <c>data/</c> blob of its own (committed create-only, then recorded and
///   linked as a completed upload), then pushes the manifest. A tag is written to the primary's current target and the
///   primary's tag is read again after the write, the write repeated while it moved: of replications of one tag running
///   in any order, the last to write read the primary after its write, so the replica ends at the primary's target.
///   No row records replication progress: <c>registry-admin replication verify</c> compares both sets of rows. Table
///   <c>auth</c>'s partitions <c>token</c> and <c>anonymous</c> are copied from the primary every minute (rows the
///   primary no longer has deleted conditionally on the ETag read); its signing key is configured alike in every region.</item>
/// </list>
///
/// <para>Table keys cannot hold <c>/ \ # ?</c> or control characters. Digests, tags and the fixed prefixes never
/// do; repository names contain <c>/</c>, which <see cref="Repository"/> spells <c>.~</c>. That spelling keeps
/// the keys in the same order as the names (so the catalog pages in lexical order) and cannot collide, since
/// <c>~</c> is not allowed in names.</para>
/// </summary>
public static class TableKeys
{
    public const string CatalogPartition = "~catalog";
    public const string ContentRow = "content";

    public const string TagPrefix = "tag:";
    public const string TagHistoryPrefix = "taghistory:";
    public const string ManifestPrefix = "manifest:";
    public const string BlobLinkPrefix = "blob:";
    public const string UploadPrefix = "upload:";
    public const string ReferrerPrefix = "referrer:";
    public const string EventPrefix = "event:";
    public const string RefPrefix = "ref:";
    public const string UsedByPrefix = "usedby:";
    public const string ReviewPrefix = "review:";
    public const string LinkReviewPrefix = "review:link:";
    public const string ManifestReviewPrefix = "review:manifest:";
    public const string DeletedPrefix = "deleted:";
    public const string CollectionPartition = "~gc";
    public const string EventsPartition = "~events";
    public const string SentPrefix = "sent:";
    public const string DeadPrefix = "dead:";
    public const string EventLeaseRow = "lease:events";

    public static string Repository(RepositoryName name) => name.Value.Replace("/", ".~", StringComparison.Ordinal);

    public static string RepositoryFromKey(string key) => key.Replace(".~", "/", StringComparison.Ordinal);

    /// <summary>A repository pattern (<c>*</c>, <c>app/*</c>, a name) as a row key: <c>/</c> spelled as in <see cref="Repository"/>.</summary>
    public static string RepositoryPattern(string pattern) => pattern.Replace("/", ".~", StringComparison.Ordinal);

    public static string RepositoryPatternFromKey(string key) => RepositoryFromKey(key);

    public static string Tag(Tag tag) => TagPrefix + tag.Value;

    /// <summary>The history rows of one tag, newest first.</summary>
    public static string TagHistoryOf(Tag tag) => TagHistoryPrefix + tag.Value + ":";

    /// <summary>A move of <paramref name="tag"/> made at <paramref name="at"/>: ticks counted down, so the newest sorts first.</summary>
    public static string TagHistory(Tag tag, DateTimeOffset at, string id) =>
        $"{TagHistoryOf(tag)}{DateTime.MaxValue.Ticks - at.UtcTicks:D19}:{id}";

    public static string Manifest(Digest digest) => ManifestPrefix + digest.Value;

    /// <summary>A soft-deleted manifest of the repository, restorable for a while.</summary>
    public static string Deleted(Digest digest) => DeletedPrefix + digest.Value;

    public static string BlobLink(Digest digest) => BlobLinkPrefix + digest.Value;

    public static string Upload(string uploadId) => UploadPrefix + uploadId;

    public static string ReferrersOf(Digest subject) => ReferrerPrefix + subject.Value + ":";

    public static string Referrer(Digest subject, Digest digest) => ReferrersOf(subject) + digest.Value;

    public static string UsersOf(Digest target) => UsedByPrefix + target.Value + ":";

    public static string UsedBy(Digest target, Digest manifest) => UsersOf(target) + manifest.Value;

    /// <summary>A review of a blob link, recorded when it was written at <paramref name="at"/>.</summary>
    public static string LinkReview(DateTimeOffset at, Digest digest) => $"{LinkReviewPrefix}{at.UtcTicks:D19}:{digest.Value}";

    /// <summary>A review of what a manifest deleted at <paramref name="at"/> used.</summary>
    public static string ManifestReview(DateTimeOffset at, Digest digest) => $"{ManifestReviewPrefix}{at.UtcTicks:D19}:{digest.Value}";

    /// <summary>A review of a digest's content (table <c>blobs</c>), recorded when a reference to it went at <paramref name="at"/>.</summary>
    public static string ContentReview(DateTimeOffset at) => $"{ReviewPrefix}{at.UtcTicks:D19}";

    /// <summary>The upper bound of the review keys under <paramref name="prefix"/> recorded before <paramref name="before"/>.</summary>
    public static string ReviewsBefore(string prefix, DateTimeOffset before) => $"{prefix}{before.UtcTicks:D19}";

    public static string Event(DateTimeOffset at, string id) => $"{EventPrefix}{at.UtcTicks:D19}:{id}";

    /// <summary>The row an event moves to once published (<see cref="SentPrefix"/>) or given up (<see cref="DeadPrefix"/>), same order.</summary>
    public static string Settled(string prefix, string eventRow) => prefix + eventRow[EventPrefix.Length..];

    public static string Content(Digest digest) => digest.Value;

    public static string RepositoryRef(RepositoryName name) => RefPrefix + Repository(name);

    public static string DataBlobName(string uploadId) => "data/" + uploadId;

    /// <summary>Where a manifest too large for its row is kept: a name of its own per push, so deleting one never touches another.</summary>
    public static string ManifestBlobName() => $"manifests/{Guid.NewGuid():N}";

    /// <summary>The name large manifests had before each push got its own: shared by every repository, so never deleted.</summary>
    public static bool IsSharedManifestBlobName(string name) => name.Count(c => c == '/') > 1;

    /// <summary>The smallest key greater than every key that starts with <paramref name="prefix"/>.</summary>
    public static string PrefixEnd(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);
}
