using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Diagnostics;
using Registry.Http;
using Registry.Jobs;
using Registry.Storage.Quotas;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Telemetry;

/// <summary>The registry's metrics, correlation ids and health endpoint, read the way an operator reads them.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class ObservabilityTests(RegistryFixture registry)
{
    /// <summary>Every measurement of the registry meter of one registry instance (other instances share the name).</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();

        public ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements { get; } = new();

        public Recorder(IServiceProvider services)
        {
            var factory = services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RegistryMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _listener.Start();
        }

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var map = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                map[tag.Key] = tag.Value;
            }
            Measurements.Enqueue((instrument.Name, value, map));
        }

        /// <summary>Asks every observable instrument (the gauges) for its value now.</summary>
        public void Observe() => _listener.RecordObservableInstruments();

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task Push_RecordsRequestDurationByRoute_BytesAccepted_AndStorageCalls()
    {
        using var recorder = new Recorder(registry.Services);
        var repo = RegistryFixture.NewRepository();
        await new OciTestClient(registry.Client).PushImageAsync(repo, "v1", layerSize: 5000);
        Assert.Equal(HttpStatusCode.OK, (await registry.Client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);

        var measurements = recorder.Measurements.ToList();
        Assert.Contains(measurements, m => m.Instrument == "registry.request.duration"
            && (string?)m.Tags["route"] == "manifest" && (string?)m.Tags["method"] == "GET" && (int?)m.Tags["status"] == 200 && m.Value > 0);
        Assert.Contains(measurements, m => m.Instrument == "registry.request.duration" && (string?)m.Tags["route"] == "upload");
        Assert.True(measurements.Where(m => m.Instrument == "registry.bytes.accepted").Sum(m => m.Value) >= 5000);
        Assert.Contains(measurements, m => m.Instrument == "registry.storage.calls"
            && (string?)m.Tags["service"] == "blob" && (string?)m.Tags["operation"] == "PUT block" && (string?)m.Tags["outcome"] == "2xx");
        Assert.Contains(measurements, m => m.Instrument == "registry.storage.calls"
            && (string?)m.Tags["service"] == "table" && (string?)m.Tags["operation"] == "POST batch");
    }

    [Fact]
    public async Task UsageJob_ExportsWhatTheRegistryHolds_AndEachQuotasUniqueBytes()
    {
        var team = RegistryFixture.NewRepository("usage");
        var pattern = team + "/*";
        var oci = new OciTestClient(registry.Client);
        var manifest = await oci.PushImageAsync($"{team}/a", "v1", layerSize: 5000);
        Assert.Equal(HttpStatusCode.Created, (await oci.PutManifestAsync($"{team}/a", "v2", manifest)).StatusCode);
        using var document = JsonDocument.Parse(manifest);
        var blobs = document.RootElement.GetProperty("layers").EnumerateArray().Append(document.RootElement.GetProperty("config")).ToList();
        // The same image in a second repository of the pattern: its blobs linked twice, their bytes counted once.
        foreach (var blob in blobs)
        {
            var mount = await registry.Client.PostAsync($"/v2/{team}/b/blobs/uploads/?mount={blob.GetProperty("digest").GetString()}&from={team}/a", null);
            Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        }
        Assert.Equal(HttpStatusCode.Created, (await oci.PutManifestAsync($"{team}/b", "v1", manifest)).StatusCode);
        var imageBytes = blobs.Sum(b => b.GetProperty("size").GetInt64());
        var quotas = registry.Services.GetRequiredService<StorageQuotas>();
        await quotas.SetAsync(new StorageQuota(pattern, 1L << 30), "test", CancellationToken.None);
        try
        {
            using var recorder = new Recorder(registry.Services);
            var job = registry.Services.GetServices<IScheduledJob>().Single(j => j.Name == "usage");
            var report = await job.RunAsync(CancellationToken.None);
            Assert.Equal(JobReport.Completed, report.Status);
            recorder.Observe();

            var measurements = recorder.Measurements.ToList();
            double Gauge(string name) => Assert.Single(measurements, m => m.Instrument == name).Value;
            Assert.Equal(imageBytes, Assert.Single(measurements, m => m.Instrument == "registry.quota.used" && (string?)m.Tags["pattern"] == pattern).Value);
            Assert.Equal(1L << 30, Assert.Single(measurements, m => m.Instrument == "registry.quota.limit" && (string?)m.Tags["pattern"] == pattern).Value);
            Assert.True(Gauge("registry.usage.repositories") >= 2);
            Assert.True(Gauge("registry.usage.tags") >= 3);
            Assert.True(Gauge("registry.usage.manifests") >= 2);
            Assert.True(Gauge("registry.usage.logical_bytes") >= Gauge("registry.usage.unique_bytes"));
            Assert.True(Gauge("registry.usage.blob_links") >= 2 * blobs.Count);
            Assert.True(Gauge("registry.usage.logical_bytes") >= 2 * imageBytes);
            Assert.True(Gauge("registry.usage.unique_bytes") >= imageBytes);
            Assert.True(Gauge("registry.usage.stored_bytes") >= imageBytes);
            Assert.Contains("repositories", report.Summary, StringComparison.Ordinal);
        }
        finally
        {
            Assert.True(await quotas.RemoveAsync(pattern, CancellationToken.None));
        }
    }

    [Fact]
    public async Task ErrorBody_CarriesTheRequestsCorrelationId()
    {
        var response = await registry.Client.GetAsync($"/v2/{RegistryFixture.NewRepository()}/manifests/missing");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var id = response.Headers.GetValues(RequestTelemetryMiddleware.CorrelationHeader).Single();
        Assert.Matches("^[0-9a-f]{32}$", id);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("MANIFEST_UNKNOWN", body.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
        Assert.Equal(id, body.RootElement.GetProperty("correlationId").GetString());

        var other = await registry.Client.GetAsync($"/v2/{RegistryFixture.NewRepository()}/manifests/missing");
        Assert.NotEqual(id, other.Headers.GetValues(RequestTelemetryMiddleware.CorrelationHeader).Single());
    }

    [Fact]
    public async Task Health_WithStorageReachable_Answers200WithoutCredentials()
    {
        var response = await registry.Anonymous.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("healthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("ok", body.RootElement.GetProperty("storage").GetProperty("table").GetString());
    }

    [Fact]
    public async Task Health_WithStorageDown_Answers503_AndRecoversWithIt()
    {
        var outage = new StorageOutage();
        await using var instance = await ExtraRegistry.StartAsync(registry.Storage, ["--Storage:MaxRetries=0"],
            builder => builder.Services.AddSingleton<HttpPipelinePolicy>(outage));
        using var client = instance.AnonymousClient();
        outage.Failing = true;
        var down = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        using (var body = JsonDocument.Parse(await down.Content.ReadAsStringAsync()))
        {
            Assert.Equal("unhealthy", body.RootElement.GetProperty("status").GetString());
            Assert.Equal("unreachable", body.RootElement.GetProperty("storage").GetProperty("blob").GetString());
        }
        outage.Failing = false;
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }
}
