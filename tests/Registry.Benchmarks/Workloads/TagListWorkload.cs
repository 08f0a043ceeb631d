using System.Diagnostics;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// A repository with many tags (10,000 in full mode): tagging one manifest again and again (timed, as a bonus row),
/// then listing every tag page by page, following the Link header, as <c>crane ls</c> or skopeo do.
/// </summary>
internal sealed class TagListWorkload : IWorkload
{
    private const string Repository = "bench/tags";
    private const int TaggingConcurrency = 16;

    public string Name => "tag-list";

    public string Description => "tag list of a repository with many tags, all pages following Link";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var tags = context.Scale.Tags;
        var page = context.Scale.TagPage;
        using var clients = await context.ClientsAsync(TaggingConcurrency, cancellationToken);
        var samples = new Samples();
        foreach (var client in clients.Both)
        {
            var image = await ImagePusher.PushAsync(client, Repository, TagName(0), 31, [1024], cancellationToken);
            var watch = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(1, tags - 1), new ParallelOptions { MaxDegreeOfParallelism = TaggingConcurrency, CancellationToken = cancellationToken },
                async (i, ct) => await client.PutManifestAsync(Repository, TagName(i), image.Manifest, ct));
            samples.Add(client.Target.Name + " tagging", (tags - 1) / watch.Elapsed.TotalSeconds);
            context.Progress($"tag-list: {client.Target.Name} has {tags} tags");
        }
        var pages = new Dictionary<string, int>();
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            foreach (var client in clients.Both)
            {
                var watch = Stopwatch.StartNew();
                var (items, pageCount) = await client.ListAllAsync($"/v2/{Repository}/tags/list?n={page}", "tags", tags / page + 10, cancellationToken);
                samples.Add(client.Target.Name + " list", watch.Elapsed.TotalMilliseconds);
                if (items != tags)
                {
                    throw new InvalidOperationException($"{client.Target.Name} listed {items} tags, not {tags}");
                }
                pages[client.Target.Name] = pageCount;
            }
        }
        context.Note($"tag-list: ours answered in {pages["ours"]} pages of n={page}; Distribution in {pages["Distribution"]} (2.8 ignores n).");
        return
        [
            new($"tag one manifest {tags - 1} times, c={TaggingConcurrency}", "manifest PUTs/s", samples.Median("ours tagging"),
                "Distribution", samples.Median("Distribution tagging"), Better.Higher, "report"),
            new($"list {tags} tags, all pages n={page}", "ms", samples.Median("ours list"), "Distribution", samples.Median("Distribution list"), Better.Lower, "report"),
        ];
    }

    private static string TagName(int i) => $"t{i:D5}";
}
