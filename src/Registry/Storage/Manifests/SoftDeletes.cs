using Registry.Oci;
using Registry.Storage.Events;
using Registry.Storage.Tags;

namespace Registry.Storage.Manifests;

/// <summary>A deleted tag or manifest that can still be restored, as <c>registry-admin deleted</c> lists it.</summary>
public sealed record DeletedItem(string Kind, string Reference, Digest Digest, DateTimeOffset DeletedAt, DateTimeOffset RestorableUntil, string? Actor);

/// <summary>
/// Soft delete: what a client or retention deleted stays restorable for <see cref="SoftDeleteOptions.SoftDeleteWindow"/>.
/// A deleted tag is found in its history (a <c>delete</c> move, Previous = where it pointed), a deleted manifest in its
/// <c>deleted:</c> row (<see cref="DeletedManifests"/>). A restore is an audited move of each tag (action <c>restore</c>
/// in the tag's history, an ImagePushed event), refused on a tag that now points elsewhere unless forced, and then still
/// refused on a locked or immutable tag, as every move is.
/// </summary>
public sealed class SoftDeletes(TagStore tags, ManifestStore manifests, DeletedManifests deleted, TimeProvider time)
{
    public const string TagKind = "tag";
    public const string ManifestKind = "manifest";

    /// <summary>The repository's deleted tags and manifests that can be restored now, tags first.</summary>
    public async Task<List<DeletedItem>> ListAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var items = new List<DeletedItem>();
        if (deleted.Window <= TimeSpan.Zero)
        {
            return items;
        }
        foreach (var (tag, move) in await tags.LatestMovesAsync(repository, cancellationToken))
        {
            if (move is { Digest: null, Previous: { } previous } && move.At + deleted.Window > now)
            {
                items.Add(new DeletedItem(TagKind, $"{repository}:{tag}", previous, move.At, move.At + deleted.Window, move.Actor));
            }
        }
        foreach (var manifest in await deleted.ListAsync(repository, cancellationToken))
        {
            var until = deleted.RestorableUntil(manifest);
            if (until > now && await manifests.FindByDigestAsync(repository, manifest.Digest, withContent: false, cancellationToken) is null)
            {
                items.Add(new DeletedItem(ManifestKind, $"{repository}@{manifest.Digest}", manifest.Digest, manifest.DeletedAt, until, manifest.Actor));
            }
        }
        return items;
    }

    /// <summary>
    /// Points a deleted tag back at what it pointed at when last deleted, restoring that manifest first when it was
    /// deleted too. The digest it points at; MANIFEST_UNKNOWN when there is nothing to restore (never deleted, the window
    /// ended, the manifest was collected) or soft delete is off; 403 DENIED when the tag now points elsewhere (unless
    /// <paramref name="force"/>) or, forced, is locked or immutable.
    /// </summary>
    public async Task<Outcome<Digest>> RestoreTagAsync(RepositoryName repository, Tag tag, bool force, ChangeOrigin origin, CancellationToken cancellationToken)
    {
        if (Off() is { } off)
        {
            return off;
        }
        if (await tags.RefuseLockedRepositoryAsync(repository, cancellationToken) is { } locked)
        {
            return locked;
        }
        var moves = await tags.HistoryAsync(repository, tag, TagStore.MaxHistory, cancellationToken);
        if (moves.FirstOrDefault(m => m is { Digest: null, Previous: not null }) is not { } delete)
        {
            return new OciError(Failure.ManifestUnknown, $"tag {tag} of {repository} was never deleted (its history records no delete); nothing to restore");
        }
        if (time.GetUtcNow() >= delete.At + deleted.Window)
        {
            return new OciError(Failure.ManifestUnknown,
                $"tag {tag} of {repository} was deleted {delete.At:u} and could be restored until {delete.At + deleted.Window:u}; that window has ended");
        }
        var digest = delete.Previous!.Value;
        var state = await tags.ReadAsync(repository, tag, cancellationToken);
        if (state.Digest == digest)
        {
            return new OciError(Failure.ManifestUnknown, $"tag {tag} of {repository} points at {digest} already; nothing to restore");
        }
        if (!force && state.Digest is { } other)
        {
            return MovedSince(repository, tag, other, digest);
        }
        if (await manifests.FindByDigestAsync(repository, digest, withContent: false, cancellationToken) is null)
        {
            if (await deleted.FindAsync(repository, digest, cancellationToken) is not { } manifest)
            {
                return new OciError(Failure.ManifestUnknown,
                    $"manifest {digest}, which tag {tag} of {repository} pointed at, is no longer kept (deleted and collected); the tag cannot be restored");
            }
            if ((await manifests.RestoreAsync(repository, manifest, origin, cancellationToken)).Error is { } refused)
            {
                return refused;
            }
        }
        var moved = await manifests.RetagAsync(repository, tag, digest, TagMoveActions.Restore, origin, cancellationToken, createOnly: !force);
        return moved.Error is { } error ? error : digest;
    }

    /// <summary>
    /// Writes a soft-deleted manifest back, with the tags its delete removed. The tags restored with it; MANIFEST_UNKNOWN
    /// when there is nothing to restore (not deleted, never deleted, the window ended) or soft delete is off; 403 DENIED,
    /// changing nothing, when one of its tags now points elsewhere (unless <paramref name="force"/>), or, forced, when such
    /// a tag is locked or immutable (the manifest is back then, and the error says so).
    /// </summary>
    public async Task<Outcome<IReadOnlyList<Tag>>> RestoreManifestAsync(
        RepositoryName repository, Digest digest, bool force, ChangeOrigin origin, CancellationToken cancellationToken)
    {
        if (Off() is { } off)
        {
            return off;
        }
        if (await tags.RefuseLockedRepositoryAsync(repository, cancellationToken) is { } locked)
        {
            return locked;
        }
        if (await manifests.FindByDigestAsync(repository, digest, withContent: false, cancellationToken) is not null)
        {
            return new OciError(Failure.ManifestUnknown, $"manifest {digest} of {repository} is not deleted; nothing to restore");
        }
        if (await deleted.FindAsync(repository, digest, cancellationToken) is not { } manifest)
        {
            return new OciError(Failure.ManifestUnknown,
                $"manifest {digest} of {repository} was never deleted, or its window ended and garbage collection took it; nothing to restore");
        }
        var moving = new List<Tag>();
        foreach (var tag in manifest.Tags)
        {
            var state = await tags.ReadAsync(repository, tag, cancellationToken);
            if (state.Digest == digest)
            {
                continue;
            }
            if (!force && state.Digest is { } other)
            {
                return MovedSince(repository, tag, other, digest);
            }
            moving.Add(tag);
        }
        if ((await manifests.RestoreAsync(repository, manifest, origin, cancellationToken)).Error is { } refused)
        {
            return refused;
        }
        foreach (var tag in moving)
        {
            if ((await manifests.RetagAsync(repository, tag, digest, TagMoveActions.Restore, origin, cancellationToken, createOnly: !force)).Error is { } error)
            {
                return error with { Detail = $"manifest {digest} of {repository} is restored, but not its tag {tag}: {error.Detail}" };
            }
        }
        return moving;
    }

    private OciError? Off() => deleted.Window > TimeSpan.Zero
        ? null
        : new OciError(Failure.ManifestUnknown, $"soft delete is off ({SoftDeleteOptions.Section}:{nameof(SoftDeleteOptions.SoftDeleteWindow)} is 0); nothing deleted can be restored");

    private static OciError MovedSince(RepositoryName repository, Tag tag, Digest now, Digest was) =>
        new(Failure.Denied,
            $"tag {tag} of {repository} now points at {now}, pushed after it was deleted; 'registry-admin restore --force' moves it back to {was}, as an audited move");
}
