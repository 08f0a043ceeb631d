using System.Diagnostics.Metrics;

namespace Registry.Diagnostics;

/// <summary>
/// The registry's own instruments, on meter <c>Registry</c> (System.Diagnostics.Metrics; the host decides where they
/// are exported). Tag values come from small fixed sets, never from repository names or digests.
/// </summary>
public sealed class RegistryMetrics
{
    public const string MeterName = "Registry";

    private readonly Histogram<double> _requestDuration;
    private readonly Counter<long> _bytesAccepted;
    private readonly Counter<long> _storageCalls;
    private long _openUploads = -1;

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
        meter.CreateObservableGauge("registry.uploads.open", ObserveOpenUploads, "{session}",
            "Upload sessions open, as counted by the last upload-cleanup sweep.");
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

    private IEnumerable<Measurement<long>> ObserveOpenUploads()
    {
        var count = Interlocked.Read(ref _openUploads);
        return count < 0 ? [] : [new Measurement<long>(count)];
    }
}
