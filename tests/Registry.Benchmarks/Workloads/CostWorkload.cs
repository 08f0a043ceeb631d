using System.Globalization;
using System.Net;
using Registry.Admin.Pricing;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// What a docker push, a docker pull and a tag listing cost in dollars at the list prices of
/// <see cref="PriceSheet.ListPrices"/>, from what this run measures: the storage calls of each operation counted in an
/// in-process registry (as <see cref="StorageCallsWorkload"/> does, with docker's requests for an image of
/// <see cref="Layers"/> layers), the layer GETs the client then makes to storage itself (one Get Blob per blob
/// followed), and the registry process's CPU time per operation, billed as Flex instance time (an instance that is
/// kept busy bills its wall time, which CPU time then fills; see README "What an operation costs"). Then what 1 TB
/// stored for a month costs here, on a VM running Distribution and in each ACR tier, and the pulls per minute each
/// ACR tier's ReadOps throttle allows. The push, cold pull and tag list counts are checked against <see cref="RegistryOperations"/>, the
/// per-operation usage <c>registry-admin cost</c> prices: the counts must agree.
/// </summary>
internal sealed class CostWorkload : IWorkload
{
    public const int Layers = 5;
    private const string Prefix = "costbench";
    private const string Repository = "bench/cost";
    private const long MiB = 1024 * 1024;
    private const decimal Million = 1_000_000m;

    public string Name => "cost";

    public string Description => "dollars per million pushes, pulls and tag listings at list prices; 1 TB-month here, on a VM, in ACR";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        // Full mode: a typical application image, 60 MiB in 5 layers; short mode keeps every layer inside one block.
        IReadOnlyList<long> sizes = context.Scale.IsShort ? [4096, 8192, 16384, 32768, 65536] : [2 * MiB, 4 * MiB, 8 * MiB, 16 * MiB, 30 * MiB];
        var storage = await context.StorageAsync(cancellationToken);
        var counts = await CountAsync(storage, sizes, context, cancellationToken);
        var cpu = await CpuAsync(context, sizes, cancellationToken);
        var imageBytes = sizes.Sum();
        var label = $"{Layers} layers, {Text(imageBytes / (decimal)MiB)} MiB";
        var calculator = new CostCalculator(PriceSheet.ListPrices);
        var gb = imageBytes / (decimal)(1024 * MiB);

        // A warm instance's pull is priced, not checked: whether its reads come from the cache depends on what it served.
        var measured = new (string Operation, Usage Usage, Usage? Profile)[]
        {
            ($"docker push ({label})", counts.Push with { InstanceSeconds = cpu.Push }, RegistryOperations.DockerPush(sizes)),
            ($"docker pull ({label}), warm instance", counts.WarmPull with { InstanceSeconds = cpu.Pull }, null),
            ($"docker pull ({label}), cold instance", counts.ColdPull with { InstanceSeconds = cpu.Pull }, RegistryOperations.DockerPull(Layers, imageBytes)),
            ("tag list page", counts.TagList with { InstanceSeconds = cpu.TagList }, RegistryOperations.TagListPage()),
        };
        var rows = new List<Row>();
        foreach (var (operation, usage, profile) in measured)
        {
            var cost = calculator.Of(usage with { EgressGb = 0 });
            rows.Add(new Row($"1 million × {operation}", "$ at list prices, egress aside", (double)(cost.Total * Million), "—", null, Better.Lower, "report"));
            if (profile is not null)
            {
                var calls = Calls(usage);
                rows.Add(new Row($"1 million × {operation}", "storage operations per operation, counted", (double)calls, "Pricing/RegistryOperations.cs", (double)Calls(profile),
                    Better.Lower, "= profile", SameCounts(usage, profile)) { ZeroIsValid = true });
            }
            context.Note($"cost: {operation}: {Describe(usage)}; per million: {Describe(calculator.Of(usage * Million))}");
        }
        context.Note($"cost: egress of 1 million pulls of {Text(gb * 1024)} MiB = {Text(gb * Million)} GB, at ${Text(PriceSheet.ListPrices.EgressPerGb)}/GB "
            + $"${Text(calculator.Of(new Usage { EgressGb = gb * Million }).Total)} (first-tier price; the same from ACR or a VM; nothing within the region)");
        context.Note($"cost: instance seconds are registry CPU seconds on a 1-vCPU (2048 MB) Flex instance: push {cpu.Push:F4}, pull {cpu.Pull:F5}, tag list {cpu.TagList:F5}");

        const decimal terabyte = 1024m;
        rows.Add(new Row("1 TB stored for a month", "$, Blob hot LRS", (double)calculator.Of(new Usage { BlobGbMonths = terabyte }).Total, "—", null, Better.Lower, "report"));
        rows.Add(new Row("1 TB stored for a month", "$, Distribution on a B2s VM with a 1 TiB E30 disk (any traffic)", (double)calculator.VmPerMonth(), "—", null, Better.Lower, "report"));
        foreach (var tier in PriceSheet.ListPrices.Acr)
        {
            rows.Add(new Row("1 TB stored for a month", $"$, ACR {tier.Name} (any traffic)", (double)calculator.AcrPerMonth(tier, terabyte), "—", null, Better.Lower, "report"));
            rows.Add(new Row($"ACR {tier.Name} ReadOps throttle", $"docker pulls per minute at most ({tier.ReadOpsPerMinute:N0} ReadOps/min, {Layers + 2} per pull)",
                tier.ReadOpsPerMinute / (double)(Layers + 2), "—", null, Better.Higher, "report"));
        }
        return rows;
    }

    private static decimal Calls(Usage usage) => usage.BlobWrites + usage.BlobReads + usage.BlobOther + usage.TableTransactions;

    /// <summary>Each price class alike, and the requests: a count moved from one class to another changes the price.</summary>
    private static bool SameCounts(Usage counted, Usage profile) =>
        counted.Executions == profile.Executions && counted.BlobWrites == profile.BlobWrites && counted.BlobReads == profile.BlobReads
        && counted.BlobOther == profile.BlobOther && counted.TableTransactions == profile.TableTransactions;

    /// <summary>Storage operations of each kind, counted in process: a push, a pull on a warm and on a cold instance, a tag list.</summary>
    private static async Task<(Usage Push, Usage WarmPull, Usage ColdPull, Usage TagList)> CountAsync(
        Azurite storage, IReadOnlyList<long> sizes, BenchmarkContext context, CancellationToken cancellationToken)
    {
        Usage Counted(string operation, IReadOnlyList<string> calls)
        {
            context.Note($"cost: {operation}: {calls.Count} storage calls [{StorageCallCounter.Breakdown(calls)}]");
            return StorageUsage(calls);
        }
        var image = Image.Of(1, sizes);
        var counter = new StorageCallCounter(Prefix);
        Usage push, warm, tags;
        await using (var registry = await InProcessRegistry.StartAsync(storage, Prefix, counter, new FrozenClock(), cancellationToken))
        {
            using var client = new OciClient(registry.Target, 4);
            await client.PrepareAsync([Repository], cancellationToken);
            push = Counted("push", await counter.MeasureAsync(() => PushAsync(client, image, cancellationToken))) + Requests(RegistryOperations.PushRequests(Layers))
                // One Event Grid publish per push, as deployed (this registry has no sink, so nothing counts it here).
                + new Usage { EventOperations = 1 };
            await PullAsync(client, image, cancellationToken);
            warm = Counted("pull, warm", await counter.MeasureAsync(() => PullAsync(client, image, cancellationToken))) + Followed(image);
            await ListAsync(client, cancellationToken);
            tags = Counted("tag list", await counter.MeasureAsync(() => ListAsync(client, cancellationToken))) + Requests(1);
        }
        var coldCounter = new StorageCallCounter(Prefix);
        await using (var registry = await InProcessRegistry.StartAsync(storage, Prefix, coldCounter, new FrozenClock(), cancellationToken))
        {
            using var client = new OciClient(registry.Target, 4);
            await client.PrepareAsync([Repository], cancellationToken);
            return (push, warm, Counted("pull, cold", await coldCounter.MeasureAsync(() => PullAsync(client, image, cancellationToken))) + Followed(image), tags);
        }
    }

    /// <summary>A pull's requests, and what the client then does itself: it follows each 307 to storage, one Get Blob per blob that no counter of ours sees.</summary>
    private static Usage Followed(Image image) =>
        Requests(RegistryOperations.PullRequests(Layers)) + new Usage { BlobReads = Layers + 1, EgressGb = image.Bytes / (decimal)(1024 * MiB) };

    private static Usage Requests(int requests) => new() { Executions = requests };

    /// <summary>The registry process's CPU seconds per push, per pull (manifest and every blob's 307) and per tag list.</summary>
    private static async Task<(decimal Push, decimal Pull, decimal TagList)> CpuAsync(BenchmarkContext context, IReadOnlyList<long> sizes, CancellationToken cancellationToken)
    {
        var target = await context.OursAsync(cancellationToken);
        using var client = new OciClient(target, 4);
        await client.PrepareAsync([Repository], cancellationToken);
        var images = Enumerable.Range(0, context.Scale.IsShort ? 2 : 5).Select(i => Image.Of(100 + (ulong)i, sizes)).ToList();
        // One of each first, unmeasured: the first request of a kind pays for compiling its code.
        var warmUp = Image.Of(99, sizes);
        await PushAsync(client, warmUp, cancellationToken);
        await PullAsync(client, warmUp, cancellationToken);
        await ListAsync(client, cancellationToken);
        var meter = CpuMeter.Start(target.ProcessId);
        foreach (var image in images)
        {
            await PushAsync(client, image, cancellationToken);
        }
        var push = meter.Seconds() / images.Count;
        const int pulls = 20;
        meter = CpuMeter.Start(target.ProcessId);
        for (var i = 0; i < pulls; i++)
        {
            await PullAsync(client, images[i % images.Count], cancellationToken);
        }
        var pull = meter.Seconds() / pulls;
        const int lists = 100;
        meter = CpuMeter.Start(target.ProcessId);
        for (var i = 0; i < lists; i++)
        {
            await ListAsync(client, cancellationToken);
        }
        return ((decimal)push, (decimal)pull, (decimal)(meter.Seconds() / lists));
    }

    /// <summary>Docker's push of a new image: per blob a HEAD (404), then POST, one chunked PATCH, PUT; then the manifest by tag.</summary>
    private static async Task PushAsync(OciClient client, Image image, CancellationToken cancellationToken)
    {
        foreach (var layer in image.Layers)
        {
            if (!await client.BlobExistsAsync(Repository, layer.Digest, cancellationToken))
            {
                await client.PushChunkedAsync(Repository, layer, cancellationToken);
            }
        }
        if (!await client.BlobExistsAsync(Repository, Digests.Of(image.Config), cancellationToken))
        {
            await client.PushChunkedAsync(Repository, image.Config, cancellationToken);
        }
        await client.PutManifestAsync(Repository, image.Tag, image.Manifest, cancellationToken);
    }

    /// <summary>Docker's pull: the manifest by tag, then the config and each layer, following each redirect to storage.</summary>
    private static async Task PullAsync(OciClient client, Image image, CancellationToken cancellationToken)
    {
        await client.GetManifestAsync(Repository, image.Tag, head: false, cancellationToken);
        foreach (var digest in image.Layers.Select(l => l.Digest).Prepend(Digests.Of(image.Config)))
        {
            var pulled = await client.PullAsync(Repository, digest, cancellationToken);
            if (pulled.RedirectedTo is null)
            {
                throw new InvalidOperationException($"blob GET of {digest} answered 200, not the 307 a pull from storage needs");
            }
        }
    }

    private static Task<(int Items, int Pages)> ListAsync(OciClient client, CancellationToken cancellationToken) =>
        client.ListAllAsync($"/v2/{Repository}/tags/list", "tags", 1, cancellationToken);

    /// <summary>The calls by price class: table transactions; blob writes (PUT, POST), reads (GET of a blob), other (HEAD, block lists); deletes are free.</summary>
    private static Usage StorageUsage(IReadOnlyList<string> calls) => new()
    {
        TableTransactions = calls.Count(c => c.Contains(" table ", StringComparison.Ordinal)),
        BlobWrites = calls.Count(c => c.StartsWith("PUT blob", StringComparison.Ordinal) || c.StartsWith("POST blob", StringComparison.Ordinal)),
        BlobReads = calls.Count(c => c == "GET blob"),
        BlobOther = calls.Count(c => c.StartsWith("HEAD blob", StringComparison.Ordinal) || c.StartsWith("GET blob ?comp=", StringComparison.Ordinal)),
    };

    private static string Describe(Usage u) => string.Create(CultureInfo.InvariantCulture,
        $"{u.Executions} requests, {u.InstanceSeconds:G4} instance-s, {u.BlobWrites} blob writes, {u.BlobReads} reads, {u.BlobOther} other, {u.TableTransactions} table transactions");

    private static string Describe(Cost c) => string.Create(CultureInfo.InvariantCulture,
        $"compute ${c.Compute:F2}, executions ${c.Executions:F2}, blob ${c.BlobOperations:F2}, table ${c.TableOperations:F2}, egress ${c.Egress:F2}, total ${c.Total:F2}");

    private static string Text(decimal value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private sealed record Image(IReadOnlyList<GeneratedLayer> Layers, byte[] Config, byte[] Manifest, string Tag)
    {
        public long Bytes => Layers.Sum(l => l.Length) + Config.Length;

        public static Image Of(ulong seed, IReadOnlyList<long> sizes)
        {
            var layers = sizes.Select((size, i) => new GeneratedLayer(seed * 64 + (ulong)i, size)).ToList();
            var config = ImageManifest.Config($"cost-{seed}");
            var manifest = ImageManifest.Build(new BlobRef(Digests.Of(config), config.Length), layers.Select(l => new BlobRef(l.Digest, l.Length)));
            return new Image(layers, config, manifest, $"v{seed}");
        }
    }
}
