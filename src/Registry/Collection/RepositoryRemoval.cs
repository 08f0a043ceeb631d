using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Blobs;
using Registry.Storage.Events;
using Registry.Storage.Manifests;
using Registry.Storage.Uploads;

namespace Registry.Collection;

/// <summary>What deleting a repository removed (or, in a dry run, would remove).</summary>
public sealed record RemovalReport(string Repository, bool DryRun, int Manifests, int Blobs, int Uploads, int OtherRows, IReadOnlyList<string> Kept);

/// <summary>
/// Deletes a whole repository through the same deletes a client's requests make, so every guarantee holds: its
/// manifests (indexes before the entries they list, since a listed manifest refuses to go), its blob links, its upload
/// sessions, then what rows are left and its catalog entry. Garbage collection then reclaims the content nothing else
/// links, one grace period later. What a concurrent push writes meanwhile is kept and reported.
/// </summary>
public sealed class RepositoryRemoval(ManifestStore manifests, BlobLinks links, BlobUploads uploads, RepositoryRows rows)
{
    /// <summary>
    /// Rows left once manifests, links and uploads are gone: stale uses, the outbox, the tags' history, and what earlier
    /// soft deletes kept restorable (a removed repository's manifests are deleted for good).
    /// </summary>
    private static readonly string[] Leftovers = [TableKeys.UsedByPrefix, TableKeys.EventPrefix, TableKeys.TagHistoryPrefix, TableKeys.DeletedPrefix];

    public async Task<RemovalReport> RemoveAsync(RepositoryName repository, bool dryRun, ChangeOrigin origin, CancellationToken cancellationToken)
    {
        var pending = await ToListAsync(rows.DigestsAsync(repository, TableKeys.ManifestPrefix, cancellationToken));
        var blobs = await ToListAsync(rows.DigestsAsync(repository, TableKeys.BlobLinkPrefix, cancellationToken));
        var sessions = await ToListAsync(rows.UploadsAsync(repository, cancellationToken));
        if (dryRun)
        {
            return new RemovalReport(repository.Value, true, pending.Count, blobs.Count, sessions.Count, 0, []);
        }
        var kept = new List<string>();
        var deletedManifests = 0;
        // Each pass deletes what nothing else lists; an index goes before its entries, so passes end when one deletes nothing.
        while (pending.Count > 0)
        {
            var next = new List<Digest>();
            foreach (var digest in pending)
            {
                var refused = (await manifests.DeleteAsync(repository, digest, origin, cancellationToken, restorable: false)).Error;
                if (refused is null || refused.Failure == Failure.ManifestUnknown)
                {
                    deletedManifests += refused is null ? 1 : 0;
                }
                else
                {
                    next.Add(digest);
                }
            }
            if (next.Count == pending.Count)
            {
                kept.AddRange(next.Select(d => $"manifest {d}"));
                break;
            }
            pending = next;
        }
        var deletedBlobs = 0;
        foreach (var digest in blobs)
        {
            var refused = (await links.UnlinkAsync(repository, digest, cancellationToken)).Error;
            if (refused is null)
            {
                deletedBlobs++;
            }
            else if (refused.Failure != Failure.BlobUnknown)
            {
                kept.Add($"blob {digest}: {refused.Detail}");
            }
        }
        var cancelled = 0;
        foreach (var id in sessions)
        {
            if (await uploads.FindAsync(repository, id, cancellationToken) is { } session)
            {
                await uploads.CancelAsync(session, cancellationToken);
                cancelled++;
            }
        }
        var other = kept.Count == 0 ? await rows.ClearAsync(repository, Leftovers, cancellationToken) : 0;
        return new RemovalReport(repository.Value, false, deletedManifests, deletedBlobs, cancelled, other, kept);
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }
        return list;
    }
}
