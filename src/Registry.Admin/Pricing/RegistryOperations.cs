using Registry.Storage.Uploads;

namespace Registry.Admin.Pricing;

/// <summary>
/// What one registry operation uses, in the units <see cref="CostCalculator"/> prices: requests, storage operations by
/// price class, instance time. The storage counts are what <c>./scripts/bench --only cost</c> counts for an image of
/// 5 layers (its rows check them against these, and fail when they differ); other layer counts are assumed to cost the
/// same per blob. The instance seconds are registry CPU time measured by the same run (2026-12-03), billed as the time
/// of a 1-vCPU instance kept busy; they vary by some tens of percent from run to run.
/// </summary>
public static class RegistryOperations
{
    /// <summary>Table transactions per blob of a push: the HEAD's lookup, the session's insert, its updates, the completion's records.</summary>
    private const int TablePerPushedBlob = 8;

    /// <summary>
    /// Table transactions of the manifest PUT: the two policy copies an instance reloads at most every 10 s (immutability
    /// rules, repository locks; counted, as a push to an instance that has not pushed lately reads them), the tag read, the
    /// transaction, the catalog touch and the outbox.
    /// </summary>
    private const int TablePerManifestPush = 6;

    /// <summary>Registry CPU seconds of a push apart from its bytes: the small-image push of README "Performance" (28.9 ms).</summary>
    private const decimal PushSeconds = 0.029m;

    /// <summary>Registry CPU seconds per MiB pushed: receiving, hashing, staging (1.39 s for 60 MiB in the bench's run).</summary>
    private const decimal PushSecondsPerMiB = 0.0226m;

    /// <summary>Registry CPU seconds of a pull: the manifest and every blob's 307.</summary>
    private const decimal PullSeconds = 0.0299m;

    private const decimal TagListSeconds = 0.0037m;

    private const decimal MiB = 1024 * 1024;

    /// <summary>Docker's requests for a push of a new image: <c>/v2/</c>, the token, per blob HEAD, POST, PATCH, PUT, then the manifest.</summary>
    public static int PushRequests(int layers) => 2 + (layers + 1) * 4 + 1;

    /// <summary>Docker's requests for a pull: <c>/v2/</c>, the token, the manifest, then a GET (a 307) per blob.</summary>
    public static int PullRequests(int layers) => 3 + layers + 1;

    /// <summary>
    /// A docker push of an image whose layers all are new, with a small config: per blob one Put Block per 4 MiB and a
    /// Put Block List; one Event Grid publish (each subscription adds a delivery). Publishing's own table calls (about 3
    /// per push) and the audit batch (one transaction per hundred records) are left out: a few cents per million.
    /// </summary>
    public static Usage DockerPush(IReadOnlyList<long> layerSizes)
    {
        ArgumentNullException.ThrowIfNull(layerSizes);
        var blobs = layerSizes.Count + 1;
        var blocks = layerSizes.Sum(size => Math.Max(1, (size + BlockStager.BlockSize - 1) / BlockStager.BlockSize)) + 1;
        return new Usage
        {
            Executions = PushRequests(layerSizes.Count),
            InstanceSeconds = PushSeconds + PushSecondsPerMiB * layerSizes.Sum() / MiB,
            BlobWrites = blocks + blobs,
            TableTransactions = TablePerPushedBlob * blobs + TablePerManifestPush,
            EventOperations = 1,
        };
    }

    /// <summary>
    /// A docker pull on an instance that has not served the image yet: one table read for the manifest and one per blob
    /// (a warm instance answers from its cache with none), and one Get Blob per blob when the client follows the 307.
    /// The bytes leave the region when the client is outside it.
    /// </summary>
    public static Usage DockerPull(int layers, long imageBytes) => new()
    {
        Executions = PullRequests(layers),
        InstanceSeconds = PullSeconds,
        BlobReads = layers + 1,
        TableTransactions = layers + 2,
        EgressGb = imageBytes / (MiB * 1024),
    };

    /// <summary>One page of <c>/tags/list</c>: one query.</summary>
    public static Usage TagListPage() => new() { Executions = 1, InstanceSeconds = TagListSeconds, TableTransactions = 1 };
}
