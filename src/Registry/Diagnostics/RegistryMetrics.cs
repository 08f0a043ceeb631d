using System.Diagnostics.Metrics;

namespace Registry.Diagnostics;

/// <summary>
/// The registry's own instruments, on meter <c>Registry</c> (System.Diagnostics.Metrics; the host decides where they
/// are exported). Tag values come from small fixed sets, never from repository names or digests; the one exception is
/// a quota's repository pattern, which an owner sets (a handful per registry).
/// </summary>
public sealed class RegistryMetrics
{
    public const string MeterName = "Registry";

    private readonly Histogram<double> _requestDuration;
    private readonly Counter<long> _bytesAccepted;
    private readonly Counter<long> _storageCalls;
    private long _openUploads = -1;
    private long _pendingEvents = -1;
    private readonly Counter<long> _eventsPublished;
    private readonly Histogram<double> _eventDelay;
    private readonly Counter<long> _replicaFallbacks;
    private UsageFigures? _usage;

    public RegistryMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        _requestDuration = meter.CreateHistogram<double>("registry.request.duration", "s",
            "Time to answer a request, by route (manifest, blob, upload, ...), method and status code.");
        _bytesAccepted = meter.CreateCounter<long>("registry.bytes.accepted", "By",
            "Bytes received and durably staged for blobs.");
        _storageCalls = meter.CreateCounter<long>("registry.storage.calls", "{call}",
            "Calls to Azure Storage, by service, operation and outcome; every retry counts.");
        _eventsPublished = meter.CreateCounter<long>("registry.events.published", "{event}",
            "Events acknowledged by every sink (Event Grid, webhooks).");
        _eventDelay = meter.CreateHistogram<double>("registry.events.delay", "s",
            "Time from a change's commit to its event's acknowledgement.");
        _replicaFallbacks = meter.CreateCounter<long>("registry.replica.fallbacks", "{read}",
            "Pulls a replica answered from the primary because replication had not brought the manifest or blob yet, by kind.");
        meter.CreateObservableGauge("registry.events.pending", () => Observe(ref _pendingEvents), "{event}",
            "Events in the outbox not yet published, as counted by the last events sweep: the backlog while a sink is down.");
        meter.CreateObservableGauge("registry.uploads.open", ObserveOpenUploads, "{session}",
            "Upload sessions open, as counted by the last upload-cleanup sweep.");
        ObserveUsage(meter, "registry.usage.repositories", "{repository}", "Repositories in the catalog.", u => u.Repositories);
        ObserveUsage(meter, "registry.usage.tags", "{tag}", "Tags of every repository.", u => u.Tags);
        ObserveUsage(meter, "registry.usage.manifests", "{manifest}", "Manifests of every repository.", u => u.Manifests);
        ObserveUsage(meter, "registry.usage.blob_links", "{link}", "Blob links of every repository (a layer shared by two repositories counts twice).", u => u.BlobLinks);
        ObserveUsage(meter, "registry.usage.logical_bytes", "By", "Bytes the repositories link, a shared layer counted in each.", u => u.LogicalBytes);
        ObserveUsage(meter, "registry.usage.unique_bytes", "By", "Bytes the repositories link, each digest once.", u => u.UniqueBytes);
        ObserveUsage(meter, "registry.usage.stored_bytes", "By", "Bytes of the content the storage account holds, each digest once (unlinked content not yet collected included).", u => u.StoredBytes);
        meter.CreateObservableGauge("registry.quota.used", () => ObserveQuotas(q => q.UsedBytes), "By",
            "Unique bytes of the repositories a quota covers, by the quota's repository pattern.");
        meter.CreateObservableGauge("registry.quota.limit", () => ObserveQuotas(q => q.LimitBytes), "By",
            "A quota's bytes, by its repository pattern.");
    }

    public void RecordRequest(string route, string method, int status, TimeSpan elapsed) =>
        _requestDuration.Record(elapsed.TotalSeconds,
            new KeyValuePair<string, object?>("route", route),
            new KeyValuePair<string, object?>("method", method),
            new KeyValuePair<string, object?>("status", status));

    public void RecordBytesAccepted(long bytes) => _bytesAccepted.Add(bytes);

    public void RecordStorageCall(string service, string operation, string outcome) =>
        _storageCalls.Add(1,
            new KeyValuePair<string, object?>("service", service),
            new KeyValuePair<string, object?>("operation", operation),
            new KeyValuePair<string, object?>("outcome", outcome));

    public void RecordOpenUploads(long count) => Interlocked.Exchange(ref _openUploads, count);

    public void RecordEventPublished(TimeSpan sinceCommit)
    {
        _eventsPublished.Add(1);
        _eventDelay.Record(Math.Max(0, sinceCommit.TotalSeconds));
    }

    public void RecordReplicaFallback(string kind) => _replicaFallbacks.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void RecordPendingEvents(long count) => Interlocked.Exchange(ref _pendingEvents, count);

    /// <summary>What the last <c>usage</c> job counted; every usage and quota gauge reports it until the next one.</summary>
    public void RecordUsage(UsageFigures usage) => Volatile.Write(ref _usage, usage);

    private void ObserveUsage(Meter meter, string name, string unit, string description, Func<UsageFigures, long> figure) =>
        meter.CreateObservableGauge(name, () => Volatile.Read(ref _usage) is { } usage ? [new Measurement<long>(figure(usage))] : Array.Empty<Measurement<long>>(), unit,
            description + " As counted by the last usage job on this instance.");

    private IEnumerable<Measurement<long>> ObserveQuotas(Func<QuotaFigures, long> figure) =>
        Volatile.Read(ref _usage)?.Quotas.Select(q => new Measurement<long>(figure(q), new KeyValuePair<string, object?>("pattern", q.RepositoryPattern))) ?? [];

    private static IEnumerable<Measurement<long>> Observe(ref long value)
    {
        var count = Interlocked.Read(ref value);
        return count < 0 ? [] : [new Measurement<long>(count)];
    }

    private IEnumerable<Measurement<long>> ObserveOpenUploads()
    {
        var count = Interlocked.Read(ref _openUploads);
        return count < 0 ? [] : [new Measurement<long>(count)];
    }
}

/// <summary>What the registry holds, as the <c>usage</c> job counted it (see <c>UsageCensus</c>).</summary>
public sealed record UsageFigures(long Repositories, long Tags, long Manifests, long BlobLinks, long LogicalBytes, long UniqueBytes, long StoredBytes, IReadOnlyList<QuotaFigures> Quotas);

/// <summary>One quota's bytes and the unique bytes of the repositories it covers.</summary>
public sealed record QuotaFigures(string RepositoryPattern, long UsedBytes, long LimitBytes);
