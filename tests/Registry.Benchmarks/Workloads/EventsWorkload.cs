using System.Collections.Concurrent;
using System.Diagnostics;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// What publishing events costs a push, and how late they arrive: the small-image pushes (three layers of 1–64 KiB, a
/// config, the manifest by tag, four in flight) against two registry processes started alike on tables of their own,
/// one with a webhook on loopback and one with no sink, interleaved round by round (which goes first alternates).
/// The registry's CPU per image is measured over the pushes (publishing goes on briefly after the last). The delay runs from the manifest PUT's 201 to the delivery that carried the image's push event; it can be below
/// zero, since the publisher starts once the transaction committed, before the answer reaches the client.
/// Storage calls per image are counted apart, in two in-process registries (events on and off, tables of their own),
/// over the same pushes, every event delivered and every call settled before the count is read.
/// </summary>
internal sealed class EventsWorkload : IWorkload
{
    private static readonly TimeSpan DeliveryDeadline = TimeSpan.FromSeconds(60);
    private const int CountedImages = 100;

    public string Name => "events";

    public string Description => "small-image pushes with events to a webhook against no sink; push-to-event delay";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var storage = await context.StorageAsync(cancellationToken);
        await using var receiver = await WebhookReceiver.StartAsync(cancellationToken);
        await using var publishing = await OurRegistryProcess.StartAsync(storage, Launch.Dotnet, "evbenchon", cancellationToken, new Dictionary<string, string>
        {
            ["Events__Webhooks__0__Url"] = receiver.Url.ToString(),
            ["Events__Webhooks__0__Secret"] = "bench-signing-secret",
            ["Events__AllowPrivateTargets"] = "true",
        });
        await using var silent = await OurRegistryProcess.StartAsync(storage, Launch.Dotnet, "evbenchoff", cancellationToken);
        using var on = new OciClient(publishing.Target, SmallImagesWorkload.ImagesInFlight * 4);
        using var off = new OciClient(silent.Target, SmallImagesWorkload.ImagesInFlight * 4);
        var images = context.Scale.SmallImages;
        var pushedAt = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var throughput = new Samples();
        void Record(PushedImage image) => pushedAt.TryAdd(image.ManifestDigest, Stopwatch.GetTimestamp());
        // Unmeasured: the JIT, connections and tokens of both.
        await SmallImagesWorkload.PushAllAsync(on, "bench/events-warm", Math.Min(images, 8), 1, cancellationToken, Record);
        await SmallImagesWorkload.PushAllAsync(off, "bench/events-warm", Math.Min(images, 8), 1, cancellationToken);
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            var series = (ulong)(round + 2);
            foreach (var (client, name) in round % 2 == 0 ? new[] { (on, "on"), (off, "off") } : [(off, "off"), (on, "on")])
            {
                var cpu = CpuMeter.Start(client.Target.ProcessId);
                var storageCpu = CpuMeter.Start(storage.ProcessId);
                var elapsed = await SmallImagesWorkload.PushAllAsync(client, $"bench/events-r{round}", images, series, cancellationToken, name == "on" ? Record : null);
                throughput.Add(name, images / elapsed.TotalSeconds);
                throughput.Add(name + " cpu", cpu.Seconds() * 1000 / images);
                throughput.Add(name + " storage cpu", storageCpu.Seconds() * 1000 / images);
            }
        }

        var deadline = Stopwatch.StartNew();
        while (pushedAt.Keys.Any(digest => !receiver.Arrived.ContainsKey(digest)) && deadline.Elapsed < DeliveryDeadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
        var delays = pushedAt
            .Where(p => receiver.Arrived.ContainsKey(p.Key))
            .Select(p => Stopwatch.GetElapsedTime(p.Value, receiver.Arrived[p.Key]).TotalMilliseconds)
            .ToList();
        var missing = pushedAt.Count - delays.Count;
        context.Note($"events: {pushedAt.Count} pushes with a webhook, {delays.Count} of their events arrived within {DeliveryDeadline.TotalSeconds:F0} s of the last push; "
            + "the delay is from the manifest PUT's 201 to the delivery");
        var (callsOn, callsOff, extra) = await CountCallsAsync(storage, receiver, Math.Min(images, CountedImages), cancellationToken);
        context.Note($"events: storage calls per image over {Math.Min(images, CountedImages)} pushes in process, on − off: {extra}");
        var workload = $"push {images} small images, {SmallImagesWorkload.ImagesInFlight} in flight";
        double withEvents = throughput.Median("on"), without = throughput.Median("off");
        List<Row> rows =
        [
            new(workload, "images/s with events to a webhook", withEvents, "no sink", without, Better.Higher, "≥ 0.95× no sink", withEvents >= 0.95 * without),
            new(workload, "registry CPU ms per image (pushes and publishing)", throughput.Median("on cpu"), "no sink", throughput.Median("off cpu"), Better.Lower, "report"),
            new(workload, "Azurite CPU ms per image", throughput.Median("on storage cpu"), "no sink", throughput.Median("off storage cpu"), Better.Lower, "report"),
            new(workload, "storage calls per image (pushes and publishing)", callsOn, "no sink", callsOff, Better.Lower, "report"),
            new(workload, "push events not delivered", missing, "pushes", pushedAt.Count, Better.Lower, "0", missing == 0) { ZeroIsValid = true },
        ];
        if (delays.Count > 0)
        {
            rows.Add(new(workload, "event delay after the 201, p50 ms", Stats.Percentile(delays, 0.5), "none", null, Better.Lower, "report") { ZeroIsValid = true });
            rows.Add(new(workload, "event delay after the 201, p99 ms", Stats.Percentile(delays, 0.99), "none", null, Better.Lower, "report") { ZeroIsValid = true });
        }
        return rows;
    }

    /// <summary>Storage calls per image of the same pushes with events to the webhook and with no sink, and what the difference is made of.</summary>
    private static async Task<(double On, double Off, string Extra)> CountCallsAsync(Azurite storage, WebhookReceiver receiver, int images, CancellationToken cancellationToken)
    {
        async Task<IReadOnlyList<string>> CountAsync(string prefix, IReadOnlyList<string> settings)
        {
            var counter = new StorageCallCounter(prefix);
            await using var registry = await InProcessRegistry.StartAsync(storage, prefix, counter, TimeProvider.System, cancellationToken, settings);
            using var client = new OciClient(registry.Target, SmallImagesWorkload.ImagesInFlight * 4);
            await SmallImagesWorkload.PushAllAsync(client, "bench/events-calls-warm", 1, 1, cancellationToken);
            var pushed = new ConcurrentBag<string>();
            return await counter.MeasureAsync(async () =>
            {
                await SmallImagesWorkload.PushAllAsync(client, "bench/events-calls", images, 90, cancellationToken, image => pushed.Add(image.ManifestDigest));
                var deadline = Stopwatch.StartNew();
                while (settings.Count > 0 && pushed.Any(digest => !receiver.Arrived.ContainsKey(digest)) && deadline.Elapsed < DeliveryDeadline)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
                }
            });
        }
        var on = await CountAsync("evcallson", [$"--Events:Webhooks:0:Url={receiver.Url}", "--Events:AllowPrivateTargets=true"]);
        var off = await CountAsync("evcallsoff", []);
        var extra = on.GroupBy(c => c).Select(g => (g.Key, Count: g.Count() - off.Count(c => c == g.Key))).Where(d => d.Count != 0)
            .Select(d => $"{d.Key} {d.Count / (double)images:+0.##;-0.##}");
        return (on.Count / (double)images, off.Count / (double)images, string.Join(", ", extra));
    }
}
