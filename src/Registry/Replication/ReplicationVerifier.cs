using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Tags;

namespace Registry.Replication;

/// <summary>One way a replica differs from its primary.</summary>
/// <param name="Kind"><c>missing-manifest</c>, <c>missing-tag</c>, <c>tag-differs</c>, <c>extra-tag</c> or <c>extra-manifest</c>.</param>
public sealed record ReplicaDifference(string Kind, string Reference, string Detail);

/// <summary>What a verification found, and what its repair did.</summary>
public sealed record ReplicaVerification(int Repositories, IReadOnlyList<ReplicaDifference> Differences, int Repaired, IReadOnlyList<string> Failures)
{
    public string Summary =>
        $"{Repositories} repositories compared: {Differences.Count} differences" +
        (Differences.Count == 0 ? "" : $" ({string.Join(", ", Differences.GroupBy(d => d.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"))})") +
        (Repaired > 0 || Failures.Count > 0 ? $"; {Repaired} repaired, {Failures.Count} failed" : "");
}

/// <summary>
/// Compares a replica with its primary by the Table indexes of both (tags and manifests of every repository in either
/// catalog; Blob storage is never listed): a manifest is written to a replica only once every blob it uses is linked
/// there (the push protocol), so the manifests and tags are the whole measure. With repair, each difference is applied
/// as the event that should have brought it (<see cref="ImageReplicator"/>), so a repair converges exactly as
/// replication does, and is safe while replication runs.
/// </summary>
public sealed class ReplicationVerifier(PrimaryRegistry primary, Catalog catalog, RepositoryRows rows, TagStore tags, ImageReplicator replicator)
{
    public async Task<ReplicaVerification> VerifyAsync(bool repair, CancellationToken cancellationToken)
    {
        var repositories = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var name in primary.RepositoriesAsync(cancellationToken))
        {
            repositories.Add(name.Value);
        }
        await foreach (var name in catalog.ListAsync(null, int.MaxValue, cancellationToken))
        {
            repositories.Add(name);
        }
        var differences = new List<ReplicaDifference>();
        var failures = new List<string>();
        var repaired = 0;
        foreach (var name in repositories)
        {
            if (!RepositoryName.TryParse(name, out var repository))
            {
                continue;
            }
            foreach (var (difference, change) in await CompareAsync(repository, cancellationToken))
            {
                differences.Add(difference);
                if (!repair)
                {
                    continue;
                }
                try
                {
                    await replicator.ApplyAsync(change, cancellationToken);
                    repaired++;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures.Add($"{difference.Reference}: {e.Message}");
                }
            }
        }
        return new ReplicaVerification(repositories.Count, differences, repaired, failures);
    }

    private async Task<List<(ReplicaDifference, ReplicationEvent)>> CompareAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var primaryTags = await primary.TagsAsync(repository, cancellationToken);
        var replicaTags = (await tags.ListDetailedAsync(repository, cancellationToken)).ToDictionary(t => t.Tag, t => t.Digest);
        var primaryManifests = await ToSetAsync(primary.ManifestDigestsAsync(repository, cancellationToken));
        var replicaManifests = await ToSetAsync(rows.DigestsAsync(repository, TableKeys.ManifestPrefix, cancellationToken));
        var found = new List<(ReplicaDifference, ReplicationEvent)>();
        ReplicationEvent Event(bool delete, Digest? digest, Tag? tag) => new("verify", delete, repository, digest, tag);
        foreach (var (tag, digest) in primaryTags)
        {
            if (!replicaTags.TryGetValue(tag, out var there))
            {
                found.Add((new("missing-tag", $"{repository}:{tag}", $"the primary's points at {digest}"), Event(false, digest, tag)));
            }
            else if (there != digest)
            {
                found.Add((new("tag-differs", $"{repository}:{tag}", $"the primary's points at {digest}, the replica's at {there}"), Event(false, digest, tag)));
            }
        }
        foreach (var digest in primaryManifests.Where(d => !replicaManifests.Contains(d)))
        {
            found.Add((new("missing-manifest", $"{repository}@{digest}", "not in the replica"), Event(false, digest, null)));
        }
        foreach (var (tag, digest) in replicaTags.Where(t => !primaryTags.ContainsKey(t.Key)))
        {
            found.Add((new("extra-tag", $"{repository}:{tag}", $"deleted at the primary; the replica's points at {digest}"), Event(true, digest, tag)));
        }
        foreach (var digest in replicaManifests.Where(d => !primaryManifests.Contains(d)))
        {
            found.Add((new("extra-manifest", $"{repository}@{digest}", "deleted at the primary"), Event(true, digest, null)));
        }
        return found;
    }

    private static async Task<HashSet<Digest>> ToSetAsync(IAsyncEnumerable<Digest> digests)
    {
        var set = new HashSet<Digest>();
        await foreach (var digest in digests)
        {
            set.Add(digest);
        }
        return set;
    }
}
