using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Registry.Oci;
using Registry.Storage.Blobs;
using Registry.Storage.Events;
using Registry.Storage.References;
using Registry.Storage.Reviews;
using Registry.Storage.Tags;

namespace Registry.Storage.Manifests;

/// <summary>A manifest as stored: its identity and, when asked for, its bytes.</summary>
public sealed record StoredManifest(Digest Digest, string MediaType, long Size, byte[]? Content);

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
    ReadCache cache, TimeProvider time)
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
    private async Task<StoredManifest?> FindCurrentByDigestAsync(RepositoryName repository, Digest digest, bool withContent, CancellationToken cancellationToken)
    {
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
    /// concurrent delete removes one before this push commits), and with MANIFEST_INVALID when a descriptor's size
    /// disagrees with what is stored.
    /// </summary>
    public async Task<Outcome<Digest>> PutAsync(
        RepositoryName repository, Tag? tag, Digest digest, ManifestDocument document, byte[] body, ChangeOrigin origin, CancellationToken cancellationToken)
    {
        var missing = await CheckReferencesAsync(repository, document, cancellationToken);
        if (missing is not null)
        {
            return missing;
        }
        var partition = TableKeys.Repository(repository);
        var inline = body.Length <= InlineLimit;
        var contentBlob = inline ? null : await StoreLargeAsync(partition, digest, document.MediaType, body, cancellationToken);
        var writes = ManifestActions(partition, repository, tag, digest, document, body, inline ? body : null, contentBlob, origin);
        await outbox.MarkAsync(repository, cancellationToken);
        var targets = Targets(document);
        var fitsOne = writes.Count + 2 * targets.Count <= MaxActionsPerTransaction;
        try
        {
            if (!fitsOne)
            {
                // Too many targets for one transaction: their touches and pending uses go first, in transactions of their own.
                foreach (var chunk in targets.Chunk(MaxActionsPerTransaction / 2))
                {
                    var removed = await SubmitUsesAsync(partition, digest, chunk, [], pending: true, cancellationToken);
                    if (removed is not null)
                    {
                        return removed;
                    }
                }
            }
            var gone = await SubmitUsesAsync(partition, digest, fitsOne ? targets : [], writes, pending: false, cancellationToken);
            if (gone is not null)
            {
                return gone;
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
        // A pull right after the push (from this instance) is answered without reading back what was just written.
        var stored = new StoredManifest(digest, document.MediaType, body.Length, body);
        cache.Put(CachedKind.Manifest, partition, TableKeys.Manifest(digest), stored, body.Length);
        if (tag is { } moved)
        {
            tags.Remember(repository, moved, new TagTarget(digest, document.MediaType, body.Length, inline ? body : null));
        }
        await catalog.AddAsync(repository, cancellationToken);
        return digest;
    }

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

    /// <summary>The blobs and child manifests a manifest uses, each once, with the row that proves it is in the repository.</summary>
    private static List<(Digest Digest, string Row, CachedKind Kind)> Targets(ManifestDocument document)
    {
        var blobs = (document.Config is null ? document.Layers : [document.Config, .. document.Layers])
            .Where(d => !d.IsForeign)
            .Select(d => d.Digest)
            .Distinct()
            .Select(d => (d, TableKeys.BlobLink(d), CachedKind.BlobLink));
        var children = document.Manifests.Select(d => d.Digest).Distinct().Select(d => (d, TableKeys.Manifest(d), CachedKind.Manifest));
        return [.. blobs, .. children];
    }

    /// <summary>
    /// One transaction: for each target a touch of its row and a <c>usedby</c> row, then <paramref name="writes"/>.
    /// Returns MANIFEST_BLOB_UNKNOWN when a target's row is gone (nothing of the transaction is written), else null.
    /// </summary>
    private async Task<OciError?> SubmitUsesAsync(
        string partition, Digest manifest, IReadOnlyList<(Digest Digest, string Row, CachedKind Kind)> targets,
        List<TableTransactionAction> writes, bool pending, CancellationToken cancellationToken)
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
        catch (TableTransactionFailedException e) when (e.Status == 404)
        {
            // Only a touch can find no row: a target was deleted after the reference check read it.
            var index = e.FailedTransactionActionIndex is { } i && i / 2 < targets.Count ? i / 2 : -1;
            foreach (var target in index >= 0 ? targets.Skip(index).Take(1) : targets)
            {
                cache.Invalidate(target.Kind, partition, target.Row);
            }
            var which = index >= 0 ? targets[index].Digest.Value : "a blob or manifest it references";
            return new OciError(Failure.ManifestBlobUnknown, $"{which} was deleted from the repository while the manifest was pushed");
        }
    }

    private List<TableTransactionAction> ManifestActions(
        string partition, RepositoryName repository, Tag? tag, Digest digest, ManifestDocument document, byte[] body, byte[]? inline, string? contentBlob,
        ChangeOrigin origin)
    {
        var now = time.GetUtcNow();
        var actions = new List<TableTransactionAction>
        {
            new(TableTransactionActionType.UpsertReplace, new ManifestEntity
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
        if (tag is { } t)
        {
            actions.Add(TagStore.Write(repository, t, new TagTarget(digest, document.MediaType, body.Length, inline)));
        }
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
    /// Deletes a manifest with every tag that points at it, all or nothing (see <see cref="TableKeys"/>). Null when it is
    /// deleted; MANIFEST_UNKNOWN when the repository has no such manifest; 409 DENIED, changing nothing, when a manifest
    /// of the repository still uses it; 503 UNAVAILABLE, changing nothing, when it or one of its tags changed meanwhile
    /// (a tag written after the delete began is never removed by it).
    /// </summary>
    /// <param name="untaggedOnly">The collector's form: refuse (409 DENIED) when a tag points at it, instead of removing the tags.</param>
    public async Task<OciError?> DeleteAsync(
        RepositoryName repository, Digest digest, ChangeOrigin origin, CancellationToken cancellationToken, bool untaggedOnly = false)
    {
        var partition = TableKeys.Repository(repository);
        var manifest = await clients.RepositoriesTable.GetEntityIfExistsAsync<ManifestEntity>(
            partition, TableKeys.Manifest(digest), ["PartitionKey", "RowKey", "Subject", "MediaType", "Size", "Content", "ContentBlob", "ArtifactType"], cancellationToken);
        if (!manifest.HasValue)
        {
            return UnknownManifest(repository, digest.Value);
        }
        if (await InUseAsync(repository, digest, cancellationToken) is { } refused)
        {
            return refused;
        }
        var tagDeletes = (await tags.PointingAtAsync(repository, digest, cancellationToken))
            .Select(tag => new TableTransactionAction(TableTransactionActionType.Delete, tag, tag.ETag))
            .ToList();
        if (untaggedOnly && tagDeletes.Count > 0)
        {
            return new OciError(Failure.InUse, $"manifest {digest} is tagged");
        }
        var final = new List<TableTransactionAction>();
        if (manifest.Value!.Subject is { } subjectText && Digest.TryParse(subjectText, out var subject) == DigestParse.Valid)
        {
            final.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, TableKeys.Referrer(subject, digest)), ETag.All));
        }
        final.Add(new(TableTransactionActionType.Delete, manifest.Value, manifest.Value.ETag));
        final.Add(OutboxRows.Record(
            repository, OutboxActions.Delete, digest, null, manifest.Value.MediaType, manifest.Value.Size, manifest.Value.ArtifactType, origin, time.GetUtcNow()));
        // What the manifest used may be unused now: the collector takes it up after the grace period.
        final.Add(reviews.ManifestReview(repository, digest, manifest.Value.MediaType, manifest.Value.Content, manifest.Value.ContentBlob));
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
                foreach (var chunk in tagDeletes.Chunk(MaxActionsPerTransaction))
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
            return null;
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 412)
        {
            return await ChangedMeanwhileAsync(repository, digest, cancellationToken);
        }
        finally
        {
            foreach (var tag in tagDeletes)
            {
                tags.Forget(repository, tag.Entity.RowKey);
            }
            cache.Invalidate(CachedKind.Manifest, partition, TableKeys.Manifest(digest));
        }
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

    /// <summary>Why a delete's transaction failed on an ETag: the manifest went, became used, or changed.</summary>
    private async Task<OciError> ChangedMeanwhileAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var now = await clients.RepositoriesTable.GetEntityIfExistsAsync<TableEntity>(
            TableKeys.Repository(repository), TableKeys.Manifest(digest), ["RowKey"], cancellationToken);
        if (!now.HasValue)
        {
            return UnknownManifest(repository, digest.Value);
        }
        return await InUseAsync(repository, digest, cancellationToken)
            ?? new OciError(Failure.ChangedMeanwhile, $"manifest {digest} or one of its tags changed while it was being deleted; nothing was deleted, try again");
    }

    /// <summary>Deletes those of a chunk's tags that still point where they did when read; a tag moved meanwhile stays.</summary>
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
                tags.RemoveAt(index);
            }
        }
    }

    private async Task<OciError?> InUseAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var users = await uses.FindUsersAsync(repository, digest, cancellationToken);
        return users.Count == 0
            ? null
            : new OciError(Failure.InUse,
                $"manifest {digest} is used by {ManifestUses.Describe(users)} in repository {repository}; delete those first");
    }

    private static OciError UnknownManifest(RepositoryName repository, string reference) =>
        new(Failure.ManifestUnknown, $"{reference} is not a manifest of repository {repository}");

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
