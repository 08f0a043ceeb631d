using System.Globalization;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Resident memory of the registry process (VmRSS) before, at the peak of (VmHWM) and after bursts of upload PATCHes
/// over raw sockets that each send 1 MiB of their body and then stall, half docker-style (chunked) and half with a
/// Content-Length they never reach: issue #11's burst. "After" is read once the registry has ended every one (408
/// after <c>Uploads:BodyIdleTimeout</c>, or 429 when the staging budget was full) and its staging trim has run
/// (<c>Uploads:StagingTrimAfter</c> after the last block came back). The bursts follow each other on one registry
/// process of its own, so memory that ratchets up shows as a growing "after". "Before" is after a warm-up push.
/// </summary>
internal sealed class StalledUploadsWorkload : IWorkload
{
    private const string Repository = "bench/stalled";
    private const int Sent = 1024 * 1024;
    private const long Declared = 8L * 1024 * 1024;

    /// <summary>After ÷ before: near the baseline, allowing for what the first burst itself warms up (JIT, pools, the staging blocks kept).</summary>
    private const double Goal = 1.3;

    /// <summary>Short, so a burst opens well within it and the run does not wait long for the 408s.</summary>
    private static readonly TimeSpan BodyIdleTimeout = TimeSpan.FromSeconds(10);

    /// <summary>After the last answer, for the staging trim's timer and its collection to have run.</summary>
    private static readonly TimeSpan TrimMargin = TimeSpan.FromSeconds(5);

    public string Name => "stalled-uploads";

    public string Description => "RSS before, during and after bursts of upload bodies that stall after 1 MiB";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var scale = context.Scale;
        var idle = scale.IsShort ? TimeSpan.FromSeconds(1) : BodyIdleTimeout;
        var trimAfter = scale.StallTrimAfter ?? TimeSpan.FromMinutes(2);
        var settings = new Dictionary<string, string> { ["Uploads__BodyIdleTimeout"] = idle.ToString("c", CultureInfo.InvariantCulture) };
        if (scale.StallTrimAfter is { } shorter)
        {
            settings["Uploads__StagingTrimAfter"] = shorter.ToString("c", CultureInfo.InvariantCulture);
        }
        var storage = await context.StorageAsync(cancellationToken);
        await using var registry = await OurRegistryProcess.StartAsync(storage, Launch.Dotnet, storagePrefix: null, cancellationToken, settings);
        var pid = registry.Target.ProcessId;
        using var client = new OciClient(registry.Target, 8);
        await client.PrepareAsync([Repository], cancellationToken);
        await client.PushChunkedAsync(Repository, new GeneratedLayer(40_000, scale.MemorySmallLayer), cancellationToken);
        var bearer = await client.Tokens!.BearerAsync(Repository, cancellationToken);
        var body = new byte[Sent];
        new ByteGenerator(40_001).Fill(body);

        var before = ProcFs.RssBytes(pid) / 1e6;
        var rows = new List<Row>();
        const string workload = "RSS of the registry process, stalled uploads";
        var goal = $"≤ {Goal:0.0#}× before";
        for (var burst = 1; burst <= scale.StallBursts; burst++)
        {
            var locations = new List<Uri>();
            for (var i = 0; i < scale.StalledUploads; i++)
            {
                locations.Add(await client.StartUploadAsync(Repository, cancellationToken));
            }
            ProcFs.ResetPeakRss(pid);
            var statuses = await Task.WhenAll(locations.Select((location, i) =>
                StalledPatch.SendAsync(registry.Target.BaseAddress, location, bearer, chunked: i % 2 == 0, body, Declared, cancellationToken)));
            var peak = ProcFs.PeakRssBytes(pid) / 1e6;
            await Task.Delay(trimAfter + TrimMargin, cancellationToken);
            var after = ProcFs.RssBytes(pid) / 1e6;
            var answers = string.Join(", ", statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Count()} × {(g.Key == 0 ? "closed" : g.Key)}"));
            context.Note($"stalled-uploads: burst {burst} of {scale.StalledUploads}: {before:F0} MB before the first burst, peak {peak:F0} MB, {after:F0} MB once ended and trimmed; answers {answers}.");
            context.Progress($"stalled-uploads: burst {burst} done, peak {peak:F0} MB, after {after:F0} MB (before: {before:F0} MB)");
            var metric = $"MB after burst {burst} of {scale.StalledUploads} uploads stalled after 1 MiB, ended and trimmed";
            rows.Add(new(workload, $"MB at the peak of burst {burst} of {scale.StalledUploads}", peak, "before the first burst", before, Better.Lower, "report"));
            rows.Add(new(workload, metric, after, "before the first burst", before, Better.Lower, goal, after <= Goal * before));
        }
        return rows;
    }
}
