using System.Net;
using System.Text;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// A collection run costs what changed, not what is stored: over 10 and over 1,000 untouched images, with the same
/// images deleted, a run makes exactly the same number of storage calls.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class CollectionCostTests(RegistryFixture registry)
{
    [Fact]
    public async Task RunAfterTheSameDeletes_CostsTheSameStorageCalls_Over10And1000UntouchedImages()
    {
        var small = await CallsOfARunAsync(untouched: 10);
        var large = await CallsOfARunAsync(untouched: 1000);
        Assert.True(small > 0);
        Assert.Equal(small, large);
    }

    /// <summary>Pushes <paramref name="untouched"/> images and 3 more, lets a run settle them, deletes the 3, and counts the next run's calls.</summary>
    private async Task<int> CallsOfARunAsync(int untouched)
    {
        await using var gc = await CollectedStorage.StartAsync(registry.Storage);
        var (kept, churn) = ("cost/kept", "cost/churn");
        var layer = OciTestClient.RandomBytes(512);
        await gc.Oci.PushBlobAsync(kept, layer);
        await Parallel.ForEachAsync(Enumerable.Range(0, untouched), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) => await PushImageAsync(gc, kept, $"v{i}", layer, i));
        var deleted = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await gc.Oci.PushBlobAsync(churn, layer);
            deleted.Add(await PushImageAsync(gc, churn, $"v{i}", layer, 100_000 + i));
        }
        // A day on, every upload's review is taken up (all are used) and the settled markers go.
        Assert.Empty((await gc.CollectAsync(TimeSpan.FromHours(25))).Items);
        foreach (var digest in deleted)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await gc.Client.DeleteAsync($"/v2/{churn}/manifests/{digest}")).StatusCode);
        }

        var before = gc.CollectorCalls.Count;
        var report = await gc.CollectAsync(TimeSpan.FromMinutes(61));
        Assert.Equal(3 + 1, report.Items.Count); // each deleted image's config link, and once the layer link they shared
        return gc.CollectorCalls.Count - before;
    }

    private static async Task<string> PushImageAsync(CollectedStorage gc, string repo, string tag, byte[] layer, int nonce)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":{nonce}}}");
        await gc.Oci.PushBlobAsync(repo, config);
        var manifest = OciTestClient.ImageManifest(config, [layer]);
        Assert.Equal(HttpStatusCode.Created, (await gc.Oci.PutManifestAsync(repo, tag, manifest)).StatusCode);
        return OciTestClient.DigestOf(manifest);
    }
}
