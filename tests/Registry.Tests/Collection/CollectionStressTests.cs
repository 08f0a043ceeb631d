using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Registry.Collection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// docs/reliability.md row L9, garbage collection under load: 10 clients push 20 images each (every other one deleted
/// once pulled) while a collector runs back to back on storage of its own (<see cref="CollectedStorage"/>). The
/// collector's clock moves a grace period and a minute on before each run, so every run finds due each delete recorded
/// before it (zot's gc-stress shape, <c>gcDelay</c> short and <c>gcInterval</c> as often as it can); its
/// <c>UnusedBlobGrace</c> is out of reach, so an upload waiting for its manifest is never due, as in production, where
/// no push waits a day. Every image that got a 201 pulls, right after its push and after the last run; the deleted
/// images' own blobs are reclaimed; the collector throws nothing and logs no warning or error.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class CollectionStressTests(RegistryFixture registry)
{
    private const int Clients = 10;
    private const int ImagesPerClient = 20;

    /// <summary>The loop's bound: far more runs than the pushes give time for (a run takes tens of milliseconds).</summary>
    private const int MaxRuns = 5_000;

    private static readonly TimeSpan Step = TimeSpan.FromMinutes(11);

    [Fact]
    public async Task L9_PushesWhileTheCollectorLoops_EveryImageThatGot201Pulls_AndTheCollectorLogsNoError()
    {
        var logs = new CapturedLogs();
        await using var gc = await CollectedStorage.StartAsync(registry.Storage, builder =>
        {
            builder.Logging.AddProvider(logs);
            builder.Logging.AddFilter<CapturedLogs>(null, LogLevel.Warning);
        }, "--GarbageCollection:Grace=00:10:00", "--GarbageCollection:UnusedBlobGrace=3650.00:00:00");
        var collector = gc.Collector.Services.GetRequiredService<GarbageCollector>();
        var repositories = Enumerable.Range(0, Clients).Select(_ => RegistryFixture.NewRepository("l9")).ToList();
        var bases = new List<byte[]>();
        foreach (var repo in repositories)
        {
            var layer = OciTestClient.RandomBytes(32 * 1024);
            await PushImageAsync(gc, repo, "base", layer, []);
            bases.Add(layer);
        }

        var failures = new ConcurrentQueue<string>();
        var kept = new ConcurrentQueue<Image>();
        var deleted = new ConcurrentQueue<Image>();
        var pushing = Parallel.ForEachAsync(Enumerable.Range(0, Clients), new ParallelOptions { MaxDegreeOfParallelism = Clients }, async (client, cancellationToken) =>
        {
            var sizes = new Random(client);
            for (var n = 0; n < ImagesPerClient; n++)
            {
                var (repo, tag) = (repositories[client], $"i{n}");
                var image = await PushImageAsync(gc, repo, tag, bases[client],
                    [OciTestClient.RandomBytes(sizes.Next(1024, 16 * 1024)), OciTestClient.RandomBytes(sizes.Next(1024, 16 * 1024))]);
                if (image is null)
                {
                    failures.Enqueue($"{repo}:{tag}: the push was refused");
                    continue;
                }
                if (await PullFailureAsync(gc, image) is { } failure)
                {
                    failures.Enqueue(failure);
                }
                if (n % 2 == 1)
                {
                    var delete = await gc.Client.DeleteAsync($"/v2/{repo}/manifests/{image.Digest}", cancellationToken);
                    if (delete.StatusCode != HttpStatusCode.Accepted)
                    {
                        failures.Enqueue($"{repo}@{image.Digest}: DELETE answered {(int)delete.StatusCode}");
                    }
                    deleted.Enqueue(image);
                }
                else
                {
                    kept.Enqueue(image);
                }
            }
        });
        var (runs, links, content) = (0, 0, 0);
        var thrown = new List<Exception>();
        async Task RunOnceAsync()
        {
            gc.CollectorClock.Skew += Step;
            try
            {
                var report = await collector.RunAsync(dryRun: false, CancellationToken.None);
                (links, content) = (links + report.Count(CollectedKind.Link), content + report.Count(CollectedKind.Content));
            }
            catch (Exception e)
            {
                thrown.Add(e);
            }
            runs++;
        }
        while (!pushing.IsCompleted && runs < MaxRuns)
        {
            await RunOnceAsync();
        }
        await pushing;
        var runsDuringLoad = runs;
        // What the loop left: the last deletes' links, then the content they released.
        await RunOnceAsync();
        await RunOnceAsync();

        Assert.Empty(failures);
        Assert.Empty(thrown);
        Assert.Empty(logs.Entries);
        Assert.True(runsDuringLoad >= 2, $"the collector ran {runsDuringLoad} times while the pushes ran");
        Assert.Equal(Clients * ImagesPerClient / 2, kept.Count);
        foreach (var image in kept)
        {
            Assert.Null(await PullFailureAsync(gc, image));
            foreach (var blob in image.Blobs.Append(image.Base))
            {
                Assert.True(await gc.RowExistsAsync(image.Repository, "blob:" + OciTestClient.DigestOf(blob)), $"{image.Repository}:{image.Tag} lost a link");
                Assert.True(await gc.BlobExistsAsync((await gc.BlobNameOfAsync(OciTestClient.DigestOf(blob)))!), $"{image.Repository}:{image.Tag} lost a blob");
            }
        }
        // Each deleted image's own config and layers were collected (3 blobs each), the bases never.
        Assert.Equal(3 * deleted.Count, links);
        Assert.Equal(3 * deleted.Count, content);
        foreach (var blob in deleted.SelectMany(image => image.Blobs))
        {
            Assert.Null(await gc.BlobNameOfAsync(OciTestClient.DigestOf(blob)));
        }
    }

    /// <summary>An image as pushed: its repository and tag, manifest, config and own layers, and the base layer it shares.</summary>
    private sealed record Image(string Repository, string Tag, string Digest, byte[] Manifest, byte[][] Blobs, byte[] Base);

    /// <summary>Pushes as docker does (the base checked with a HEAD, the rest uploaded); null when the manifest PUT was refused.</summary>
    private static async Task<Image?> PushImageAsync(CollectedStorage gc, string repo, string tag, byte[] baseLayer, byte[][] own)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"{Guid.NewGuid()}\"}}");
        using var head = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repo}/blobs/{OciTestClient.DigestOf(baseLayer)}");
        if ((await gc.Client.SendAsync(head)).StatusCode != HttpStatusCode.OK)
        {
            await gc.Oci.PushBlobAsync(repo, baseLayer);
        }
        await gc.Oci.PushBlobAsync(repo, config);
        foreach (var layer in own)
        {
            await gc.Oci.PushBlobAsync(repo, layer);
        }
        var manifest = OciTestClient.ImageManifest(config, [baseLayer, .. own]);
        var put = await gc.Oci.PutManifestAsync(repo, tag, manifest);
        return put.StatusCode == HttpStatusCode.Created
            ? new Image(repo, tag, OciTestClient.DigestOf(manifest), manifest, [config, .. own], baseLayer)
            : null;
    }

    /// <summary>Pulls as docker does (manifest by tag, then every blob, following the redirect); null when all of it came back whole.</summary>
    private static async Task<string?> PullFailureAsync(CollectedStorage gc, Image image)
    {
        var manifest = await gc.Client.GetAsync($"/v2/{image.Repository}/manifests/{image.Tag}");
        if (manifest.StatusCode != HttpStatusCode.OK || !(await manifest.Content.ReadAsByteArrayAsync()).AsSpan().SequenceEqual(image.Manifest))
        {
            return $"{image.Repository}:{image.Tag}: manifest GET answered {(int)manifest.StatusCode}";
        }
        foreach (var blob in image.Blobs.Append(image.Base))
        {
            var pulled = await gc.Following.GetAsync($"/v2/{image.Repository}/blobs/{OciTestClient.DigestOf(blob)}");
            if (pulled.StatusCode != HttpStatusCode.OK || !(await pulled.Content.ReadAsByteArrayAsync()).AsSpan().SequenceEqual(blob))
            {
                return $"{image.Repository}:{image.Tag}: blob {OciTestClient.DigestOf(blob)} answered {(int)pulled.StatusCode}";
            }
        }
        return null;
    }

    /// <summary>What the collector's instance logs at warning and above.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        public ConcurrentQueue<string> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    owner.Entries.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
