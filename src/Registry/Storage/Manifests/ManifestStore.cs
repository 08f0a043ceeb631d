using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Registry.Oci;
using Registry.Storage.Blobs;
using Registry.Storage.Events;
using Registry.Storage.Quotas;
using Registry.Storage.References;
using Registry.Storage.Reviews;
using Registry.Storage.Tags;

namespace Registry.Storage.Manifests;

/// <summary>A manifest as stored: its identity and, when asked for, its bytes.</summary>
public sealed record StoredManifest(Digest Digest, string MediaType, long Size, byte[]? Content);

/// <summary>A manifest as retention examines it: when it was pushed, whether it is locked, what it refers to.</summary>
public sealed record ManifestSummary(Digest Digest, long Size, DateTimeOffset Pushed, bool Locked, Digest? Subject);

/// <summary>A referrer as the referrers API lists it.</summary>
public sealed record Referrer(Digest Digest, string MediaType, long Size, string? ArtifactType, string? AnnotationsJson);

/// <summary>
/// Manifests and referrers of a repository. A push writes the manifest, the tag move, the referrer entry
/// and the event row in one entity-group transaction, so they appear together or not at all; of concurrent pushes
/// to one tag the last transaction wins. The blobs a manifest references are checked through the read cache, which
/// an upload completed on this instance has just filled.
/// </summary>
public sealed class ManifestStore(
    StorageClients clients, BlobLinks links, ManifestUses uses, TagStore tags, GarbageReviews reviews, Outbox outbox, Catalog catalog,
    ReadCache cache, QuotaAdmission quotas, DeletedManifests deleted, TimeProvider time)
{
    /// <summary>Largest manifest kept inline in its Table entity (a binary property holds 64 KiB).</summary>
    public const int InlineLimit = 64 * 1024;

    private const int ReferenceCheckParallelism = 8;
    private const int MaxActionsPerTransaction = 100;

    /// <summary>
    /// The manifest <paramref name="tag"/> points at, or null (see <see cref="TagStore.FindAsync"/> for how late a move
    /// through another instance is seen). Its bytes are read only when asked for and not inline in the tag.
    /// </summary>
    public async Task<StoredManifest?> FindByTagAsync(RepositoryName repository, Tag tag, bool withContent, CancellationToken cancellationToken)
    {
        var target = await tags.FindAsync(repository, tag, cancellationToken);
        if (target is null)
        {
            return null;
        }
        if (!withContent || target.InlineContent is not null)
        {
            return new StoredManifest(target.Digest, target.MediaType, target.Size, target.InlineContent);
        }
        return await FindByDigestAsync(repository, target.Digest, withContent, cancellationToken);
    }

    /// <summary>
    /// The manifest stored under <paramref name="digest"/> in this repository, or null. May be answered from
    /// <see cref="ReadCache"/>: a delete through another instance is seen at most <see cref="ReadCacheOptions.Content"/> late.
    /// </summary>
    public async Task<StoredManifest?> FindByDigestAsync(RepositoryName repository, Digest digest, bool withContent, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var row = TableKeys.Manifest(digest);
        if (cache.TryGet<StoredManifest>(CachedKind.Manifest, partition, row, out var known) && (!withContent || known.Content is not null))
        {
            return known;
        }
        var stamp = cache.Begin(partition);
        var found = await FindCurrentByDigestAsync(repository, digest, withContent, cancellationToken);
        if (found is not null)
        {
            cache.Set(stamp, CachedKind.Manifest, partition, row, found, found.Content?.Length ?? 0);
        }
        return found;
    }

    /// <summary>The manifest as storage has it now (what a push checks its references against).</summary>
    private Task<StoredManifest?> FindCurrentByDigestAsync(RepositoryName repository, Digest digest, bool withContent, CancellationToken cancellationToken) =>
        ReadAsync(clients, repository, digest, withContent, cancellationToken);

    /// <summary>
    /// The manifest as the account of <paramref name="clients"/> has it now (a replica reads its primary's this way), its
    /// bytes checked against the digest when read from their blob.
    /// </summary>
    public static async Task<StoredManifest?> ReadAsync(
        StorageClients clients, RepositoryName repository, Digest digest, bool withContent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clients);
        var response = await clients.RepositoriesTable.GetEntityIfExistsAsync<ManifestEntity>(
            TableKeys.Repository(repository), TableKeys.Manifest(digest), cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }
        var entity = response.Value!;
        var content = entity.Content;
        if (withContent && content is null && entity.ContentBlob is not null)
        {
            var download = await clients.Container.GetBlobClient(entity.ContentBlob).DownloadContentAsync(cancellationToken);
            content = download.Value.Content.ToArray();
            if (Digest.Compute(content, digest.Algorithm) != digest)
            {
                throw new InvalidDataException($"stored manifest {digest} of {repository} does not match its digest");
            }
        }
        return new StoredManifest(digest, entity.MediaType, entity.Size, content);
    }

    /// <summary>
    /// Stores a validated manifest under its digest and, when <paramref name="tag"/> is given, points the tag at it.
    /// Fails with MANIFEST_BLOB_UNKNOWN when a referenced blob or child manifest is not in this repository (also when a
    /// concurrent delete removes one before this push commits), with MANIFEST_INVALID when a descriptor's size
    /// disagrees with what is stored, and with 403 DENIED when the tag is locked and points elsewhere or a storage quota
    /// covering the repository is exceeded.
    /// </summary>
    /// <param name="createOnly">The caller may create tags but not move them (scope action <c>create</c>): an existing tag that points elsewhere is 403 DENIED.</param>
    public async Task<Outcome<Digest>> PutAsync(
        RepositoryName repository, Tag? tag, Digest digest, ManifestDocument document, byte[] body, ChangeOrigin origin, CancellationToken cancellationToken,
        bool createOnly = false)
    {
        // The tag is read while the references are checked: its move is conditional on this read (a tag this instance
        // does not know is presumed new, and read only if the insert finds it).
        if ((await quotas.AdmitManifestAsync(repository, cancellationToken)).Error is { } overQuota)
        {
            return overQuota;
        }
        var tagRead = tag is { } named ? tags.ReadIfKnownAsync(repository, named, cancellationToken) : null;
        var missing = await CheckReferencesAsync(repository, document, cancellationToken);
        var state = tagRead is null ? null : await tagRead;
        if (missing is not null)
        {
            return missing;
        }
        if (state is not null && await tags.RefuseMoveAsync(repository, state, digest, cancellationToken, createOnly) is { } locked)
        {
            return locked;
        }
        var partition = TableKeys.Repository(repository);
        var inline = body.Length <= InlineLimit;
        var contentBlob = inline ? null : await StoreLargeAsync(partition, digest, document.MediaType, body, cancellationToken);
        List<TableTransactionAction> Writes() => ManifestActions(partition, repository, tag, digest, document, body, inline ? body : null, contentBlob, origin, time.GetUtcNow());
        var writes = Writes();
        var target = new TagTarget(digest, document.MediaType, body.Length, inline ? body : null);
        await outbox.MarkAsync(repository, cancellationToken);
        var targets = Targets(document);
        var fitsOne = writes.Count + 2 + 2 * targets.Count <= MaxActionsPerTransaction;
        var moveStamp = tag is { } moving ? tags.BeginMove(repository, moving) : default;
        try
        {
            if (!fitsOne)
            {
                // Too many targets for one transaction: their touches and pending uses go first, in transactions of their own.
                foreach (var chunk in targets.Chunk(MaxActionsPerTransaction / 2))
                {
                    var removed = await SubmitUsesAsync(repository, partition, digest, chunk, [], null, pending: true, cancellationToken);
                    if (removed is not null)
                    {
                        return removed;
                    }
                }
            }
            if (await SubmitWithMoveAsync(repository, partition, digest, fitsOne ? targets : [], writes, Writes, state, target, origin, createOnly, cancellationToken) is { } failed)
            {
                return failed;
            }
        }
        catch
        {
            if (tag is { } failed)
            {
                tags.Forget(repository, TableKeys.Tag(failed));
            }
            throw;
        }
        // A pull right after the push (from this instance) is answered without reading back what was just written. The
        // tag first: the manifest's entry (which never changes under its digest) would count as another change.
        if (tag is { } moved)
        {
            tags.Remember(moveStamp, repository, moved, target);
        }
        var stored = new StoredManifest(digest, document.MediaType, body.Length, body);
        cache.Put(CachedKind.Manifest, partition, TableKeys.Manifest(digest), stored, body.Length);
        await catalog.AddAsync(repository, cancellationToken);
        return digest;
    }

    /// <summary>
    /// Commits a push's rows (<paramref name="writes"/>, then <paramref name="rewrite"/> on each later attempt, so the
    /// history's order is the order the moves committed in) with the move of the tag as read (<paramref name="state"/>,
    /// none without a tag). Each time a concurrent push, delete or lock of the tag committed first, it decides again from
    /// the tag as it is now, at most <see cref="TagStore.MaxMoveAttempts"/> times. Null once written; else why nothing was.
    /// </summary>
    private async Task<OciError?> SubmitWithMoveAsync(
        RepositoryName repository, string partition, Digest digest, IReadOnlyList<(Digest Digest, string Row, CachedKind Kind)> targets,
        List<TableTransactionAction> writes, Func<List<TableTransactionAction>> rewrite, TagState? state, TagTarget target, ChangeOrigin origin,
        bool createOnly, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            writes = attempt == 1 ? writes : rewrite();
            List<TableTransactionAction> move = state is null ? [] : TagStore.Move(repository, state, target, TagMoveActions.Push, origin, time.GetUtcNow());
            var failed = await SubmitUsesAsync(repository, partition, digest, targets, [.. move, .. writes], state, pending: false, cancellationToken);
            if (failed is null || !ReferenceEquals(failed, TagMovedMeanwhile))
            {
                return failed;
            }
            if (attempt == TagStore.MaxMoveAttempts)
            {
                return new OciError(Failure.ChangedMeanwhile,
                    $"tag {state!.Tag} was changed {attempt} times by concurrent requests while this push was written; nothing was written, try again");
            }
            state = await tags.ReadAsync(repository, state!.Tag, cancellationToken);
            if (await tags.RefuseMoveAsync(repository, state, digest, cancellationToken, createOnly) is { } lockedMeanwhile)
            {
                return lockedMeanwhile;
            }
        }
    }

    /// <summary>What <see cref="SubmitUsesAsync"/> answers when the transaction failed on the tag's condition.</summary>
    private static readonly OciError TagMovedMeanwhile = new(Failure.ChangedMeanwhile, "the tag changed while the push was written");

    /// <summary>
    /// Puts the bytes of a manifest too large for its row in a blob of its own, or finds the one an earlier push of the
    /// same manifest to this repository wrote (same digest, same bytes), so a repeated push leaves nothing behind. The
    /// collector deletes such a blob only once no manifest row of the repository names it.
    /// </summary>
    private async Task<string> StoreLargeAsync(string partition, Digest digest, string mediaType, byte[] body, CancellationToken cancellationToken)
    {
        var earlier = await clients.RepositoriesTable.GetEntityIfExistsAsync<ManifestEntity>(
            partition, TableKeys.Manifest(digest), ["ContentBlob"], cancellationToken);
        if (earlier.HasValue && earlier.Value!.ContentBlob is { } existing && !TableKeys.IsSharedManifestBlobName(existing))
        {
            return existing;
        }
        var name = TableKeys.ManifestBlobName();
        await clients.Container.GetBlobClient(name).UploadAsync(new BinaryData(body), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = mediaType },
        }, cancellationToken);
        return name;
    }

    /// <summary>The blobs (config and layers) a manifest uses and a push requires linked, each once: foreign layers are not.</summary>
    public static IEnumerable<Descriptor> UsedBlobs(ManifestDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        return (document.Config is null ? document.Layers : [document.Config, .. document.Layers])
            .Where(d => !d.IsForeign)
            .DistinctBy(d => d.Digest);
    }

    /// <summary>The blobs and child manifests a manifest uses, each once, with the row that proves it is in the repository.</summary>
    private static List<(Digest Digest, string Row, CachedKind Kind)> Targets(ManifestDocument document)
    {
        var blobs = UsedBlobs(document).Select(d => (d.Digest, TableKeys.BlobLink(d.Digest), CachedKind.BlobLink));
        var children = document.Manifests.Select(d => d.Digest).Distinct().Select(d => (d, TableKeys.Manifest(d), CachedKind.Manifest));
        return [.. blobs, .. children];
    }

    /// <summary>
    /// One transaction: for each target a touch of its row and a <c>usedby</c> row, then <paramref name="writes"/> (whose
    /// first action is the tag's move when <paramref name="moving"/> is given). Returns MANIFEST_BLOB_UNKNOWN when a
    /// target's row is gone, <see cref="TagMovedMeanwhile"/> when the tag is no longer as read (nothing of the transaction
    /// is written either way), else null.
    /// </summary>
    private async Task<OciError?> SubmitUsesAsync(
        RepositoryName repository, string partition, Digest manifest, IReadOnlyList<(Digest Digest, string Row, CachedKind Kind)> targets,
        List<TableTransactionAction> writes, TagState? moving, bool pending, CancellationToken cancellationToken)
    {
        var actions = new List<TableTransactionAction>(2 * targets.Count + writes.Count);
        foreach (var target in targets)
        {
            actions.Add(uses.Touch(partition, target.Row));
            actions.Add(ManifestUses.Record(partition, target.Digest, manifest, pending));
        }
        actions.AddRange(writes);
        try
        {
            await clients.RepositoriesTable.SubmitTransactionAsync(actions, cancellationToken);
            return null;
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 || (moving is not null && e.Status is 409 or 412))
        {
            // Only the tag's move is conditional on an ETag (412) or an absence (409); its replace also finds no row (404)
            // when the tag was deleted meanwhile.
            if (moving is not null && (e.Status != 404 || e.FailedTransactionActionIndex == 2 * targets.Count
                || (e.FailedTransactionActionIndex is null && await tags.ChangedSinceAsync(repository, moving, cancellationToken))))
            {
                tags.Forget(repository, TableKeys.Tag(moving.Tag));
                return TagMovedMeanwhile;
            }
            // Otherwise only a touch can find no row: a target was deleted after the reference check read it.
            var index = e.FailedTransactionActionIndex is { } i && i / 2 < targets.Count ? i / 2 : -1;
            foreach (var target in index >= 0 ? targets.Skip(index).Take(1) : targets)
            {
                cache.Invalidate(target.Kind, partition, target.Row);
            }
            var which = index >= 0 ? targets[index].Digest.Value : "a blob or manifest it references";
            return new OciError(Failure.ManifestBlobUnknown, $"{which} was deleted from the repository while the manifest was pushed");
        }
    }

    /// <summary>The manifest's own rows: itself (merged, so a lock on it stays), its referrer entry, its event.</summary>
    private static List<TableTransactionAction> ManifestActions(
        string partition, RepositoryName repository, Tag? tag, Digest digest, ManifestDocument document, byte[] body, byte[]? inline, string? contentBlob,
        ChangeOrigin origin, DateTimeOffset now)
    {
        var actions = new List<TableTransactionAction>
        {
            new(TableTransactionActionType.UpsertMerge, new ManifestEntity
            {
                PartitionKey = partition,
                RowKey = TableKeys.Manifest(digest),
                MediaType = document.MediaType,
                Size = body.Length,
                Content = inline,
                ContentBlob = contentBlob,
                Subject = document.Subject?.Digest.Value,
                ArtifactType = document.ArtifactType,
                Created = now,
            }),
        };
        if (document.Subject is { } subject)
        {
            actions.Add(new(TableTransactionActionType.UpsertReplace, new ReferrerEntity
            {
                PartitionKey = partition,
                RowKey = TableKeys.Referrer(subject.Digest, digest),
                Digest = digest.Value,
                MediaType = document.MediaType,
                Size = body.Length,
                ArtifactType = document.ArtifactType,
                Annotations = document.AnnotationsJson,
            }));
        }
        actions.Add(OutboxRows.Record(repository, OutboxActions.Push, digest, tag, document.MediaType, body.Length, document.ArtifactType, origin, now));
        return actions;
    }

    private async Task<OciError?> CheckReferencesAsync(RepositoryName repository, ManifestDocument document, CancellationToken cancellationToken)
    {
        var blobs = (document.Config is null ? document.Layers : [document.Config, .. document.Layers])
            .Where(d => !d.IsForeign)
            .DistinctBy(d => d.Digest)
            .ToList();
        var problems = new System.Collections.Concurrent.ConcurrentBag<(bool Missing, string Text)>();
        var options = new ParallelOptions { MaxDegreeOfParallelism = ReferenceCheckParallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(blobs, options, async (descriptor, ct) =>
        {
            var blob = await links.FindAsync(repository, descriptor.Digest, ct);
            if (blob is null)
            {
                problems.Add((true, $"blob {descriptor.Digest} is not in repository {repository}"));
            }
            else if (blob.Size != descriptor.Size)
            {
                problems.Add((false, $"descriptor of {descriptor.Digest} says size {descriptor.Size}, the blob has {blob.Size}"));
            }
        });
        await Parallel.ForEachAsync(document.Manifests.DistinctBy(d => d.Digest), options, async (descriptor, ct) =>
        {
            var child = await FindCurrentByDigestAsync(repository, descriptor.Digest, withContent: false, ct);
            if (child is null)
            {
                problems.Add((true, $"manifest {descriptor.Digest} is not in repository {repository}"));
            }
            else if (child.Size != descriptor.Size)
            {
                problems.Add((false, $"descriptor of {descriptor.Digest} says size {descriptor.Size}, the manifest has {child.Size}"));
            }
        });
        if (problems.IsEmpty)
        {
            return null;
        }
        var detail = string.Join("; ", problems.Select(p => p.Text).Order(StringComparer.Ordinal).Take(20));
        return new OciError(problems.Any(p => p.Missing) ? Failure.ManifestBlobUnknown : Failure.ManifestInvalid, detail);
    }

    /// <summary>
    /// Deletes a manifest with every tag that points at it, all or nothing (see <see cref="TableKeys"/>). Done when it is
    /// deleted; MANIFEST_UNKNOWN when the repository has no such manifest; 409 DENIED, changing nothing, when a manifest
    /// of the repository still uses it; 503 UNAVAILABLE, changing nothing, when it or one of its tags changed meanwhile
    /// (a tag written after the delete began is never removed by it).
    /// </summary>
    /// <param name="untaggedOnly">The collector's form: refuse (409 DENIED) when a tag points at it, instead of removing the tags.</param>
    /// <param name="restorable">
    /// Keep it restorable for the soft-delete window (<see cref="DeletedManifests"/>), as a client's and retention's
    /// deletes do; the collector's own deletes and a repository's removal are final.
    /// </param>
    public async Task<Outcome<Done>> DeleteAsync(
        RepositoryName repository, Digest digest, ChangeOrigin origin, CancellationToken cancellationToken, bool untaggedOnly = false,
        bool restorable = true)
    {
        var partition = TableKeys.Repository(repository);
        var manifest = await clients.RepositoriesTable.GetEntityIfExistsAsync<ManifestEntity>(
            partition, TableKeys.Manifest(digest),
            ["PartitionKey", "RowKey", "Subject", "MediaType", "Size", "Content", "ContentBlob", "ArtifactType", "Locked"], cancellationToken);
        if (!manifest.HasValue)
        {
            return UnknownManifest(repository, digest.Value);
        }
        if (manifest.Value!.Locked == true)
        {
            return LockedManifest(repository, digest);
        }
        if (await tags.RefuseLockedRepositoryAsync(repository, cancellationToken) is { } lockedRepository)
        {
            return lockedRepository;
        }
        if (await InUseAsync(repository, digest, cancellationToken) is { } refused)
        {
            return refused;
        }
        var pointing = await tags.PointingAtAsync(repository, digest, cancellationToken);
        if (untaggedOnly && pointing.Count > 0)
        {
            return new OciError(Failure.InUse, $"manifest {digest} is tagged");
        }
        if (await tags.RefuseRemovalAsync(repository, digest, pointing, cancellationToken) is { } keptTag)
        {
            return keptTag;
        }
        var now = time.GetUtcNow();
        // Each tag goes with its history row, a pair the chunked form below keeps together.
        var tagDeletes = pointing.SelectMany(tag => TagStore.Removal(repository, tag, digest, origin, now)).ToList();
        var final = new List<TableTransactionAction>();
        if (manifest.Value!.Subject is { } subjectText && Digest.TryParse(subjectText, out var subject) == DigestParse.Valid)
        {
            final.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, TableKeys.Referrer(subject, digest)), ETag.All));
        }
        final.Add(new(TableTransactionActionType.Delete, manifest.Value, manifest.Value.ETag));
        final.Add(OutboxRows.Record(
            repository, OutboxActions.Delete, digest, null, manifest.Value.MediaType, manifest.Value.Size, manifest.Value.ArtifactType, origin, now));
        // What the manifest used may be unused now: the collector takes it up after the grace period (and the soft-delete
        // window, during which the deleted: row keeps it restorable).
        var keptFor = restorable ? deleted.Window : TimeSpan.Zero;
        var review = reviews.ManifestReview(repository, digest, manifest.Value.MediaType, manifest.Value.Content, manifest.Value.ContentBlob, keptFor);
        final.Add(review);
        if (keptFor > TimeSpan.Zero)
        {
            final.Add(deleted.Record(repository, digest, manifest.Value.MediaType, manifest.Value.Size, review,
                pointing.Select(tag => TagStore.TagOfRow(tag.RowKey)), origin));
        }
        await reviews.MarkRepositoryAsync(repository, cancellationToken);
        await outbox.MarkAsync(repository, cancellationToken);
        try
        {
            if (tagDeletes.Count + final.Count <= MaxActionsPerTransaction)
            {
                await clients.RepositoriesTable.SubmitTransactionAsync([.. tagDeletes, .. final], cancellationToken);
            }
            else
            {
                // More tags than one transaction holds: they go first, the manifest last, so an interruption never
                // leaves a tag pointing at nothing (and repeating the DELETE finishes it).
                foreach (var chunk in tagDeletes.Chunk(MaxActionsPerTransaction / 2 * 2))
                {
                    await DeleteStillPointingAsync([.. chunk], cancellationToken);
                }
                try
                {
                    await clients.RepositoriesTable.SubmitTransactionAsync(final, cancellationToken);
                }
                catch (TableTransactionFailedException e) when (e.Status is 404 or 412)
                {
                    var why = await ChangedMeanwhileAsync(repository, digest, cancellationToken);
                    return why.Failure == Failure.ChangedMeanwhile
                        ? why with { Detail = $"the tags of manifest {digest} were removed, but it changed before it could be; repeat the DELETE" }
                        : why;
                }
            }
            return new Done();
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 412)
        {
            return await ChangedMeanwhileAsync(repository, digest, cancellationToken);
        }
        finally
        {
            foreach (var tag in pointing)
            {
                tags.Forget(repository, tag.RowKey);
            }
            cache.Invalidate(CachedKind.Manifest, partition, TableKeys.Manifest(digest));
        }
    }

    /// <summary>
    /// Writes a soft-deleted manifest back (without its tags: <see cref="RetagAsync"/> moves each), from the bytes its
    /// review kept, as a push of it would: one transaction touches every blob and child it uses (so it fails when one was
    /// collected or deleted meanwhile), records its uses, writes the manifest and its event, and removes its
    /// <c>deleted:</c> and review rows conditionally on what was read, so of a restore and the collector taking up the
    /// review only one wins. Done when it is back; MANIFEST_UNKNOWN when it can no longer be restored (its window ended,
    /// the collector took it, or something it used is gone), saying which.
    /// </summary>
    public async Task<Outcome<Done>> RestoreAsync(RepositoryName repository, DeletedManifest manifest, ChangeOrigin origin, CancellationToken cancellationToken)
    {
        var digest = manifest.Digest;
        var until = deleted.RestorableUntil(manifest);
        if (time.GetUtcNow() >= until)
        {
            return new OciError(Failure.ManifestUnknown,
                $"manifest {digest} of {repository} was deleted {manifest.DeletedAt:u} and could be restored until {until:u}; that window has ended");
        }
        var partition = TableKeys.Repository(repository);
        var review = await clients.RepositoriesTable.GetEntityIfExistsAsync<ReviewEntity>(partition, manifest.ReviewRow, cancellationToken: cancellationToken);
        var body = !review.HasValue ? null
            : review.Value!.Content ?? (review.Value.ContentBlob is { } blob ? await ReadContentBlobAsync(blob, cancellationToken) : null);
        var document = body is null ? null : ManifestParser.Parse(body, review.Value!.MediaType, out _);
        if (document is null)
        {
            return new OciError(Failure.ManifestUnknown, $"the bytes of deleted manifest {digest} of {repository} are no longer kept; it cannot be restored");
        }
        var inline = body!.Length <= InlineLimit;
        var writes = ManifestActions(partition, repository, null, digest, document, body, inline ? body : null, inline ? null : review.Value!.ContentBlob,
            origin, time.GetUtcNow());
        writes.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, TableKeys.Deleted(digest)), manifest.ETag));
        writes.Add(new(TableTransactionActionType.Delete, review.Value!, review.Value!.ETag));
        var targets = Targets(document);
        await outbox.MarkAsync(repository, cancellationToken);
        var gone = new OciError(Failure.ManifestUnknown,
            $"manifest {digest} of {repository} can no longer be restored: garbage collection took it at the end of its window, or a blob or manifest it uses is no longer in the repository");
        if (writes.Count + 2 * targets.Count > MaxActionsPerTransaction)
        {
            foreach (var chunk in targets.Chunk(MaxActionsPerTransaction / 2))
            {
                if (await SubmitUsesAsync(repository, partition, digest, chunk, [], null, pending: true, cancellationToken) is not null)
                {
                    return gone;
                }
            }
            targets = [];
        }
        try
        {
            if (await SubmitUsesAsync(repository, partition, digest, targets, writes, null, pending: false, cancellationToken) is not null)
            {
                return gone;
            }
        }
        catch (TableTransactionFailedException e) when (e.Status == 412)
        {
            return new OciError(Failure.ChangedMeanwhile, $"manifest {digest} of {repository} was deleted again while it was being restored; nothing was changed, try again");
        }
        finally
        {
            cache.Invalidate(CachedKind.Manifest, partition, TableKeys.Manifest(digest));
        }
        await catalog.AddAsync(repository, cancellationToken);
        return new Done();
    }

    /// <summary>
    /// Deletes the blob that held a deleted manifest's bytes, unless a manifest row of the repository names it again (a
    /// push of the same manifest reuses its blob). Blobs of the older, shared naming are never deleted.
    /// </summary>
    public async Task<bool> DeleteContentBlobAsync(RepositoryName repository, Digest digest, string blobName, CancellationToken cancellationToken)
    {
        if (TableKeys.IsSharedManifestBlobName(blobName))
        {
            return false;
        }
        var current = await clients.RepositoriesTable.GetEntityIfExistsAsync<ManifestEntity>(
            TableKeys.Repository(repository), TableKeys.Manifest(digest), ["ContentBlob"], cancellationToken);
        if (current.HasValue && current.Value!.ContentBlob == blobName)
        {
            return false;
        }
        var response = await clients.Container.GetBlobClient(blobName).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        return response.Value;
    }

    /// <summary>Reads the bytes of a large manifest from the blob that holds them (the collector reads a deleted one's).</summary>
    public async Task<byte[]?> ReadContentBlobAsync(string blobName, CancellationToken cancellationToken)
    {
        try
        {
            return (await clients.Container.GetBlobClient(blobName).DownloadContentAsync(cancellationToken)).Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Why a delete's transaction failed on an ETag: the manifest went, became used or locked, or changed.</summary>
    private async Task<OciError> ChangedMeanwhileAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var now = await clients.RepositoriesTable.GetEntityIfExistsAsync<ManifestEntity>(
            TableKeys.Repository(repository), TableKeys.Manifest(digest), ["RowKey", "Locked"], cancellationToken);
        if (!now.HasValue)
        {
            return UnknownManifest(repository, digest.Value);
        }
        if (now.Value!.Locked == true)
        {
            return LockedManifest(repository, digest);
        }
        if (await tags.RefuseRemovalAsync(repository, digest, await tags.PointingAtAsync(repository, digest, cancellationToken), cancellationToken) is { } keptTag)
        {
            return keptTag;
        }
        return await InUseAsync(repository, digest, cancellationToken)
            ?? new OciError(Failure.ChangedMeanwhile, $"manifest {digest} or one of its tags changed while it was being deleted; nothing was deleted, try again");
    }

    /// <summary>
    /// Deletes those of a chunk's tags (each a delete and its history row) that still point where they did when read; a
    /// tag moved or locked meanwhile stays.
    /// </summary>
    private async Task DeleteStillPointingAsync(List<TableTransactionAction> tags, CancellationToken cancellationToken)
    {
        while (tags.Count > 0)
        {
            try
            {
                await clients.RepositoriesTable.SubmitTransactionAsync(tags, cancellationToken);
                return;
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 412 && e.FailedTransactionActionIndex is { } index && index < tags.Count)
            {
                tags.RemoveRange(index / 2 * 2, 2);
            }
        }
    }

    /// <summary>
    /// Locks or unlocks a manifest: a merge conditional on the row as read, so a delete that read the row before cannot
    /// delete it after. Done when set; MANIFEST_UNKNOWN when the repository has no such manifest.
    /// </summary>
    public async Task<Outcome<Done>> SetLockAsync(RepositoryName repository, Digest digest, bool locked, CancellationToken cancellationToken) =>
        await RowLock.SetAsync(clients.RepositoriesTable, TableKeys.Repository(repository), TableKeys.Manifest(digest), locked, cancellationToken)
            ? new Done()
            : UnknownManifest(repository, digest.Value);

    /// <summary>
    /// Points <paramref name="tag"/> at a manifest the repository holds (a rollback), as an audited move of its own with
    /// its history and event rows. Done when it points there (also when it did already); MANIFEST_UNKNOWN when the
    /// repository has no such manifest; 403 DENIED when the tag is locked; 503 when it kept changing meanwhile.
    /// </summary>
    /// <param name="createOnly">As for <see cref="PutAsync"/>: the tag may be created, never moved.</param>
    public async Task<Outcome<Done>> RetagAsync(
        RepositoryName repository, Tag tag, Digest digest, string action, ChangeOrigin origin, CancellationToken cancellationToken, bool createOnly = false)
    {
        var partition = TableKeys.Repository(repository);
        var row = TableKeys.Manifest(digest);
        var manifest = await clients.RepositoriesTable.GetEntityIfExistsAsync<ManifestEntity>(
            partition, row, ["MediaType", "Size", "Content", "ArtifactType"], cancellationToken);
        if (!manifest.HasValue)
        {
            return UnknownManifest(repository, digest.Value);
        }
        var target = new TagTarget(digest, manifest.Value!.MediaType, manifest.Value.Size, manifest.Value.Content);
        await outbox.MarkAsync(repository, cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            var state = await tags.ReadAsync(repository, tag, cancellationToken);
            if (await tags.RefuseMoveAsync(repository, state, digest, cancellationToken, createOnly) is { } locked)
            {
                return locked;
            }
            if (state.Digest == digest)
            {
                return new Done();
            }
            var now = time.GetUtcNow();
            try
            {
                // The touch fails the transaction when the manifest was deleted meanwhile, and makes a delete that read
                // it before start again (and see this tag).
                await clients.RepositoriesTable.SubmitTransactionAsync(
                [
                    uses.Touch(partition, row),
                    .. TagStore.Move(repository, state, target, action, origin, now),
                    OutboxRows.Record(repository, OutboxActions.Push, digest, tag, target.MediaType, target.Size, manifest.Value.ArtifactType, origin, now),
                ], cancellationToken);
                return new Done();
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412)
            {
                if (e.Status == 404 && (e.FailedTransactionActionIndex == 0 || !await tags.ChangedSinceAsync(repository, state, cancellationToken)))
                {
                    return UnknownManifest(repository, digest.Value);
                }
                if (attempt == TagStore.MaxMoveAttempts)
                {
                    return new OciError(Failure.ChangedMeanwhile, $"tag {tag} kept changing while it was being moved; nothing was changed, try again");
                }
            }
            finally
            {
                tags.Forget(repository, TableKeys.Tag(tag));
            }
        }
    }

    private static OciError LockedManifest(RepositoryName repository, Digest digest) =>
        new(Failure.Denied, $"manifest {digest} of {repository} is locked and cannot be deleted; 'registry-admin unlock {repository}@{digest}' unlocks it");


    private async Task<OciError?> InUseAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var users = await uses.FindUsersAsync(repository, digest, cancellationToken, includeSoftDeleted: false);
        return users.Count == 0
            ? null
            : new OciError(Failure.InUse,
                $"manifest {digest} is used by {ManifestUses.Describe(users)} in repository {repository}; delete those first");
    }

    private static OciError UnknownManifest(RepositoryName repository, string reference) =>
        new(Failure.ManifestUnknown, $"{reference} is not a manifest of repository {repository}");

    /// <summary>Every manifest of the repository (one query; admin and retention work, never on a request's path).</summary>
    public async Task<List<ManifestSummary>> ListAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {TableKeys.Repository(repository)} and RowKey ge {TableKeys.ManifestPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.ManifestPrefix)}");
        var result = new List<ManifestSummary>();
        await foreach (var row in clients.RepositoriesTable.QueryAsync<TableEntity>(
            filter, 1000, ["RowKey", "Size", "Created", "Locked", "Subject", "Timestamp"], cancellationToken))
        {
            if (Digest.TryParse(row.RowKey[TableKeys.ManifestPrefix.Length..], out var digest) == DigestParse.Valid)
            {
                Digest? subject = Digest.TryParse(row.GetString("Subject"), out var s) == DigestParse.Valid ? s : null;
                var pushed = row.GetDateTimeOffset("Created") ?? row.Timestamp ?? DateTimeOffset.MinValue;
                result.Add(new ManifestSummary(digest, row.GetInt64("Size") ?? 0, pushed, row.GetBoolean("Locked") == true, subject));
            }
        }
        return result;
    }

    /// <summary>The manifests whose subject is <paramref name="subject"/>, optionally only those of one artifact type.</summary>
    public async Task<List<Referrer>> ReferrersAsync(RepositoryName repository, Digest subject, string? artifactType, CancellationToken cancellationToken)
    {
        var partition = TableKeys.Repository(repository);
        var prefix = TableKeys.ReferrersOf(subject);
        var filter = artifactType is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {prefix} and RowKey lt {TableKeys.PrefixEnd(prefix)}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {prefix} and RowKey lt {TableKeys.PrefixEnd(prefix)} and ArtifactType eq {artifactType}");
        var result = new List<Referrer>();
        await foreach (var row in clients.RepositoriesTable.QueryAsync<ReferrerEntity>(filter, cancellationToken: cancellationToken))
        {
            if (Digest.TryParse(row.Digest, out var digest) == DigestParse.Valid)
            {
                result.Add(new Referrer(digest, row.MediaType, row.Size, row.ArtifactType, row.Annotations));
            }
        }
        return result;
    }
}
