using Registry.Oci;
using Registry.Storage.Blobs;
using Registry.Storage.Events;
using Registry.Storage.Manifests;
using Registry.Storage.Tags;
using Registry.Storage.Uploads;

namespace Registry.Replication;

/// <summary>
/// Applies one of the primary's events to this replica's storage: the primary is read for its current state (an event
/// says only where to look), the blobs the replica lacks are copied server-side, and the manifests and tag are written
/// through the replica's own stores, so every row a push or a delete writes (links, uses, reviews, history) is written
/// here by the same protocol as at the primary.
///
/// <para><b>Order and repetition.</b> Queues keep no order and deliver twice. Nothing here depends on either: a tag is
/// written to what the primary has now, and after the write the primary's tag is read again; when it moved meanwhile,
/// the write is repeated. So of several events for one tag applied at once or in any order, the one writing last read
/// the primary after its write and found it unchanged: the replica's tag ends at the primary's, never at an older
/// target. A manifest the primary no longer has is not copied (its delete event removes it, in either order), and the
/// same event applied twice finds everything present and writes nothing new.</para>
/// </summary>
public sealed class ImageReplicator(PrimaryRegistry primary, ManifestStore manifests, TagStore tags, BlobLinks links, BlobCopies copies)
{
    /// <summary>Who the replica's history and audit name for what replication wrote.</summary>
    public static readonly ChangeOrigin Origin = new("replication");

    private const int MaxTagAttempts = 5;
    private const int MaxIndexDepth = 8;
    private const int CopyParallelism = 4;

    public async Task<ReplicationResult> ApplyAsync(ReplicationEvent change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        var result = new ReplicationResult();
        var repository = change.Repository;
        // The tag first: when it still points at the event's manifest, one write brings both.
        var tagged = change.Tag is { } tag ? await ConvergeTagAsync(repository, tag, result, cancellationToken) : null;
        if (change.Digest is { } digest && digest != tagged && (change.Tag is null || !change.IsDelete))
        {
            if (await primary.ManifestAsync(repository, digest, cancellationToken) is { } manifest)
            {
                await CopyAsync(repository, manifest, null, result, 0, cancellationToken);
            }
            else if (change.IsDelete)
            {
                await DeleteAsync(repository, digest, result, cancellationToken);
            }
            else
            {
                result.Skipped.Add($"{repository}@{digest} is gone at the primary");
            }
        }
        return result;
    }

    /// <summary>
    /// Makes the replica's <paramref name="tag"/> what the primary's is, until a read after the write agrees. Returns
    /// the digest the tag was left at (null when the primary has no such tag, or the replica refused the move).
    /// </summary>
    private async Task<Digest?> ConvergeTagAsync(RepositoryName repository, Tag tag, ReplicationResult result, CancellationToken cancellationToken)
    {
        var current = await primary.TagAsync(repository, tag, cancellationToken);
        for (var attempt = 1; attempt <= MaxTagAttempts; attempt++)
        {
            if (current is null)
            {
                var removal = (await tags.UntagAsync(repository, tag, Origin, cancellationToken)).Error;
                if (removal is null)
                {
                    result.TagsRemoved++;
                }
                else if (removal.Failure == Failure.Denied)
                {
                    result.Skipped.Add($"{repository}:{tag} stays: {removal.Detail}");
                    return null;
                }
                else if (removal.Failure != Failure.ManifestUnknown)
                {
                    throw new ReplicationDeferredException($"removing {repository}:{tag}: {removal.Detail}");
                }
            }
            else if (await primary.ManifestAsync(repository, current.Value, cancellationToken) is { } manifest)
            {
                if (!await CopyAsync(repository, manifest, tag, result, 0, cancellationToken))
                {
                    return null;
                }
            }
            var after = await primary.TagAsync(repository, tag, cancellationToken);
            if (after == current)
            {
                return current;
            }
            current = after;
        }
        throw new ReplicationDeferredException($"{repository}:{tag} moved at the primary {MaxTagAttempts} times while it was replicated");
    }

    /// <summary>
    /// Writes <paramref name="manifest"/> (and <paramref name="tag"/>, when given) to the replica after what it uses: child
    /// manifests first, then every blob the replica's repository does not link yet. False when something it uses is gone
    /// at the primary (recorded in <paramref name="result"/>), or the replica refused the tag's move.
    /// </summary>
    private async Task<bool> CopyAsync(
        RepositoryName repository, PrimaryManifest manifest, Tag? tag, ReplicationResult result, int depth, CancellationToken cancellationToken)
    {
        if (await manifests.FindByDigestAsync(repository, manifest.Digest, withContent: false, cancellationToken) is not null
            && (tag is not { } named || (await tags.ReadAsync(repository, named, cancellationToken)).Digest == manifest.Digest))
        {
            return true; // replicated already (an event delivered again, or another event of the same push)
        }
        var document = ManifestParser.Parse(manifest.Content, manifest.MediaType, out var problems)
            ?? throw new InvalidDataException($"the primary's manifest {manifest.Digest} of {repository} does not parse: {string.Join("; ", problems)}");
        foreach (var child in document.Manifests.DistinctBy(d => d.Digest))
        {
            if (await manifests.FindByDigestAsync(repository, child.Digest, withContent: false, cancellationToken) is not null)
            {
                continue;
            }
            if (depth >= MaxIndexDepth || await primary.ManifestAsync(repository, child.Digest, cancellationToken) is not { } childManifest
                || !await CopyAsync(repository, childManifest, null, result, depth + 1, cancellationToken))
            {
                result.Skipped.Add($"{repository}@{manifest.Digest}: its manifest {child.Digest} is not replicated");
                return false;
            }
        }
        var missing = 0;
        await Parallel.ForEachAsync(ManifestStore.UsedBlobs(document),
            new ParallelOptions { MaxDegreeOfParallelism = CopyParallelism, CancellationToken = cancellationToken },
            async (blob, token) =>
            {
                if (!await EnsureBlobAsync(repository, blob.Digest, result, token))
                {
                    Interlocked.Increment(ref missing);
                }
            });
        if (missing > 0)
        {
            result.Skipped.Add($"{repository}@{manifest.Digest}: {missing} of its blobs are gone at the primary");
            return false;
        }
        var put = await manifests.PutAsync(repository, tag, manifest.Digest, document, manifest.Content, Origin, cancellationToken);
        if (put.Error is { } error)
        {
            if (error.Failure == Failure.Denied)
            {
                result.Skipped.Add($"{repository}:{tag} stays: {error.Detail}");
                return false;
            }
            throw new ReplicationDeferredException($"writing {repository}@{manifest.Digest}: {error.Detail}");
        }
        result.ManifestsWritten++;
        return true;
    }

    private async Task<bool> EnsureBlobAsync(RepositoryName repository, Digest digest, ReplicationResult result, CancellationToken cancellationToken)
    {
        if (await links.FindCurrentAsync(repository, digest, cancellationToken) is not null)
        {
            return true;
        }
        if (await primary.LinkAsync(repository, digest, cancellationToken) is not { } source)
        {
            return false;
        }
        var url = await primary.ReadUrlAsync(source.BlobName, cancellationToken);
        var copied = await copies.CopyAsync(repository, digest, source.Size, url, cancellationToken);
        if (copied is null)
        {
            return false;
        }
        result.CountBlob(copied.BytesCopied);
        return true;
    }

    private async Task DeleteAsync(RepositoryName repository, Digest digest, ReplicationResult result, CancellationToken cancellationToken)
    {
        var deleted = (await manifests.DeleteAsync(repository, digest, Origin, cancellationToken)).Error;
        switch (deleted?.Failure)
        {
            case null:
                result.ManifestsDeleted++;
                break;
            case Failure.ManifestUnknown:
                break;
            case Failure.Denied:
                result.Skipped.Add($"{repository}@{digest} stays: {deleted.Detail}");
                break;
            default:
                // In use by an index whose delete is not applied yet, or changed meanwhile: later.
                throw new ReplicationDeferredException($"deleting {repository}@{digest}: {deleted.Detail}");
        }
    }
}
