using Registry.Oci;

namespace Registry.Storage;

/// <summary>What a set of repositories holds together: sums of their <see cref="RepositoryUsage"/>, and the bytes they link counted once per digest.</summary>
public sealed record UsageTotals(int Repositories, long Tags, long Manifests, long BlobLinks, long LogicalBytes, int UniqueDigests, long UniqueBytes);

/// <summary>
/// Counts what the repositories matching a pattern hold, one repository at a time in catalog order: one query of each
/// partition's tag, manifest and link rows (keys and sizes only). Its cost grows with the registry's size: admin work
/// (<c>registry-admin usage</c>) and the hourly <c>usage</c> job, never a request's path.
/// </summary>
public sealed class UsageCensus(Catalog catalog, RepositoryRows rows)
{
    /// <param name="seen">Told of each repository's usage as it is counted (the CLI prints it as it goes).</param>
    public async Task<UsageTotals> CountAsync(string pattern, Func<RepositoryUsage, Task>? seen, CancellationToken cancellationToken)
    {
        var unique = new Dictionary<Digest, long>();
        var (repositories, tags, manifests, links, logical) = (0, 0L, 0L, 0L, 0L);
        await foreach (var name in catalog.ListAsync(null, int.MaxValue, cancellationToken))
        {
            if (!RepositoryPatterns.Matches(pattern, name) || !RepositoryName.TryParse(name, out var repository))
            {
                continue;
            }
            var usage = await rows.UsageAsync(repository, cancellationToken);
            foreach (var (digest, size) in usage.Linked)
            {
                unique[digest] = size;
            }
            (repositories, tags, manifests, links, logical) = (repositories + 1, tags + usage.Tags, manifests + usage.Manifests, links + usage.Blobs, logical + usage.LinkedBytes);
            if (seen is not null)
            {
                await seen(usage);
            }
        }
        return new UsageTotals(repositories, tags, manifests, links, logical, unique.Count, unique.Values.Sum());
    }
}
