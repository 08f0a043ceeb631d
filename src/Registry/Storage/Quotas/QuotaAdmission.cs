using System.Collections.Concurrent;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Registry.Oci;

namespace Registry.Storage.Quotas;

/// <summary>How fresh the usage a quota is checked against must be.</summary>
public sealed class QuotaOptions
{
    public const string Section = "Quotas";

    /// <summary>
    /// How long an instance counts a pattern's usage from its own reading (plus what it admitted since) before it reads
    /// the pattern's links again: deletes and other instances' pushes are seen this late.
    /// </summary>
    public TimeSpan UsageRefresh { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Checks pushes against the <see cref="StorageQuotas"/> that cover their repository. A pattern's usage is its
/// unique blob bytes: every digest that a <c>blob:</c> link of one of its repositories names, counted once, at the
/// size its link records (manifests, tags and upload sessions are not counted, so a failed or abandoned upload is
/// never charged). An instance reads a pattern's links (one range query over its repositories' partitions) at most every <see cref="QuotaOptions.UsageRefresh"/>, and adds what it admits itself meanwhile;
/// so what one instance admits in sequence is counted exactly, and concurrent pushes through several instances may
/// pass a quota by what they push within that time. Reading a pattern's usage lists its link rows: its cost grows with
/// the pattern's size, once per refresh per instance, and nothing is read for a repository no quota covers.
/// </summary>
public sealed class QuotaAdmission(StorageClients clients, StorageQuotas quotas, IOptions<QuotaOptions> options, TimeProvider time) : IDisposable
{
    private readonly ConcurrentDictionary<string, PatternUsage> _usage = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _reading = new(1, 1);

    /// <summary>
    /// Admits a new link of <paramref name="digest"/> (<paramref name="size"/> bytes) into <paramref name="repository"/>
    /// and counts it, or refuses it with 403 DENIED when it would take a covering quota's usage past its bytes. A digest
    /// the quota's repositories link already adds nothing, so re-pushing or mounting within the pattern always passes.
    /// </summary>
    public async Task<Outcome<Done>> AdmitBlobAsync(RepositoryName repository, Digest digest, long size, CancellationToken cancellationToken)
    {
        var admitted = new List<PatternUsage>();
        foreach (var quota in await quotas.CoveringAsync(repository, cancellationToken))
        {
            var usage = await UsageAsync(quota.RepositoryPattern, cancellationToken);
            if (!usage.TryAdd(digest, size, quota.Bytes, out var added, out var used))
            {
                admitted.ForEach(u => u.Remove(digest));
                return Refusal(repository, quota, used, $"this blob of {ByteSizes.Format(size)} would take it past that");
            }
            if (added)
            {
                admitted.Add(usage);
            }
        }
        return new Done();
    }

    /// <summary>Refuses (403 DENIED) a manifest push to <paramref name="repository"/> while a covering quota is exceeded.</summary>
    public async Task<Outcome<Done>> AdmitManifestAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        foreach (var quota in await quotas.CoveringAsync(repository, cancellationToken))
        {
            var used = (await UsageAsync(quota.RepositoryPattern, cancellationToken)).Bytes;
            if (used > quota.Bytes)
            {
                return Refusal(repository, quota, used, "no manifest is accepted until it is below");
            }
        }
        return new Done();
    }

    /// <summary>The unique blob bytes of the repositories matching <paramref name="repositoryPattern"/>, read from storage now.</summary>
    public async Task<long> ReadUsageAsync(string repositoryPattern, CancellationToken cancellationToken) =>
        (await ReadAsync(repositoryPattern, cancellationToken)).Bytes;

    public void Dispose() => _reading.Dispose();

    private async Task<PatternUsage> UsageAsync(string pattern, CancellationToken cancellationToken)
    {
        if (_usage.TryGetValue(pattern, out var known) && time.GetUtcNow() - known.ReadAt < options.Value.UsageRefresh)
        {
            return known;
        }
        await _reading.WaitAsync(cancellationToken);
        try
        {
            if (_usage.TryGetValue(pattern, out known) && time.GetUtcNow() - known.ReadAt < options.Value.UsageRefresh)
            {
                return known;
            }
            var read = await ReadAsync(pattern, cancellationToken);
            _usage[pattern] = read;
            return read;
        }
        finally
        {
            _reading.Release();
        }
    }

    /// <summary>
    /// Reads every <c>blob:</c> link of the pattern's repositories in one range query over their partitions (a
    /// repository counts from its first link, before the catalog lists it).
    /// </summary>
    private async Task<PatternUsage> ReadAsync(string pattern, CancellationToken cancellationToken)
    {
        var readAt = time.GetUtcNow();
        var links = TableClient.CreateQueryFilter($"RowKey ge {TableKeys.BlobLinkPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.BlobLinkPrefix)}");
        string filter;
        if (pattern == "*" || pattern.EndsWith("/*", StringComparison.Ordinal))
        {
            // '*': every partition before '~', where the registry's own partitions (catalog, markers) begin.
            var (from, to) = pattern == "*" ? ("", "~") : (TableKeys.RepositoryPattern(pattern[..^1]), TableKeys.PrefixEnd(TableKeys.RepositoryPattern(pattern[..^1])));
            filter = TableClient.CreateQueryFilter($"PartitionKey ge {from} and PartitionKey lt {to}") + " and " + links;
        }
        else
        {
            filter = TableClient.CreateQueryFilter($"PartitionKey eq {TableKeys.RepositoryPattern(pattern)}") + " and " + links;
        }
        var linked = new Dictionary<Digest, long>();
        await foreach (var row in clients.RepositoriesTable.QueryAsync<TableEntity>(filter, 1000, ["RowKey", "Size"], cancellationToken))
        {
            if (Digest.TryParse(row.RowKey[TableKeys.BlobLinkPrefix.Length..], out var digest) == DigestParse.Valid)
            {
                linked[digest] = row.GetInt64("Size") ?? 0;
            }
        }
        return new PatternUsage(linked, readAt);
    }

    private static OciError Refusal(RepositoryName repository, StorageQuota quota, long used, string why) =>
        new(Failure.Denied,
            $"repository {repository} is under the storage quota of '{quota.RepositoryPattern}': {ByteSizes.Format(quota.Bytes)}, of which {ByteSizes.Format(used)} are used; "
            + $"{why}. Free space by deleting images (DELETE the manifest by digest; garbage collection reclaims the layers no other image "
            + $"uses after its grace period), or have an owner raise it: registry-admin quota set '{quota.RepositoryPattern}' <size>");

    /// <summary>A pattern's linked digests as read at <see cref="ReadAt"/>, with what this instance admitted since.</summary>
    private sealed class PatternUsage(Dictionary<Digest, long> linked, DateTimeOffset readAt)
    {
        private readonly Lock _lock = new();
        private long _bytes = linked.Values.Sum();

        public DateTimeOffset ReadAt { get; } = readAt;

        public long Bytes
        {
            get
            {
                lock (_lock)
                {
                    return _bytes;
                }
            }
        }

        /// <summary>Counts <paramref name="digest"/> unless that would pass <paramref name="limit"/>; <paramref name="added"/> when it was not counted yet.</summary>
        public bool TryAdd(Digest digest, long size, long limit, out bool added, out long used)
        {
            lock (_lock)
            {
                used = _bytes;
                added = false;
                if (linked.ContainsKey(digest))
                {
                    return true;
                }
                if (_bytes + size > limit)
                {
                    return false;
                }
                linked[digest] = size;
                _bytes += size;
                added = true;
                return true;
            }
        }

        public void Remove(Digest digest)
        {
            lock (_lock)
            {
                if (linked.Remove(digest, out var size))
                {
                    _bytes -= size;
                }
            }
        }
    }
}
