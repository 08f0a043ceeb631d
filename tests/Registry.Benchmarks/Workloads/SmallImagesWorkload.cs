using System.Diagnostics;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Many small images, as a CI fleet pushes them: each image three layers of 1–64 KiB and a config (pushed in
/// parallel, docker-style), then its manifest by tag; four images in flight, spread over ten repositories that are
/// new in every round.
/// </summary>
internal sealed class SmallImagesWorkload : IWorkload
{
    public const int ImagesInFlight = 4;
    private const int RepositoriesPerRound = 10;

    public string Name => "small-images";

    public string Description => "push many small images (3 layers of 1-64 KiB, config, manifest, tag), 4 in flight";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        using var clients = await context.ClientsAsync(ImagesInFlight * 4, cancellationToken);
        var images = context.Scale.SmallImages;
        var samples = new Samples();
        foreach (var client in clients.Both)
        {
            await PushAllAsync(client, "bench/small-warm", Math.Min(images, 8), 1, cancellationToken);
        }
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            foreach (var client in clients.Both)
            {
                var cpu = CpuMeter.Start(client.Target.ProcessId);
                var elapsed = await PushAllAsync(client, $"bench/small-r{round}", images, (ulong)(round + 2), cancellationToken);
                samples.Add(client.Target.Name + " images/s", images / elapsed.TotalSeconds);
                samples.Add(client.Target.Name + " cpu", cpu.Seconds() * 1000 / images);
            }
        }
        var workload = $"push {images} small images, {ImagesInFlight} in flight";
        return
        [
            new(workload, "images/s", samples.Median("ours images/s"), "Distribution", samples.Median("Distribution images/s"), Better.Higher, "report"),
            new(workload, "registry CPU ms per image", samples.Median("ours cpu"), "Distribution", samples.Median("Distribution cpu"), Better.Lower, "report"),
        ];
    }

    /// <summary>
    /// Pushes the images (tokens fetched first, as a logged-in client has them) and returns how long the pushes took;
    /// <paramref name="pushed"/> hears of each image as its manifest PUT was answered.
    /// </summary>
    public static async Task<TimeSpan> PushAllAsync(
        OciClient client, string repositoryPrefix, int images, ulong series, CancellationToken cancellationToken, Action<PushedImage>? pushed = null)
    {
        var repositories = Enumerable.Range(0, Math.Min(images, RepositoriesPerRound)).Select(k => $"{repositoryPrefix}-{k}").ToList();
        await client.PrepareAsync(repositories, cancellationToken);
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, images), new ParallelOptions { MaxDegreeOfParallelism = ImagesInFlight, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var seed = series * 1_000_000 + (ulong)i;
                var sizes = new Random((int)seed);
                var image = await ImagePusher.PushAsync(client, repositories[i % repositories.Count], $"v{i}", seed,
                    [sizes.Next(1024, 64 * 1024 + 1), sizes.Next(1024, 64 * 1024 + 1), sizes.Next(1024, 64 * 1024 + 1)], ct);
                pushed?.Invoke(image);
            });
        return watch.Elapsed;
    }
}
