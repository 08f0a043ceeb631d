using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Registry.Collection;
using Registry.Tests.Collection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// Garbage collection as a docker user sees it: two images pushed with a real docker share their base layer; one is
/// deleted over HTTP (its tag, then its manifest by digest, as <c>skopeo delete</c> or curl would), and collection runs
/// past the grace period on the collector's clock (<see cref="CollectedStorage"/>, on the real-client Azurite). What only
/// the deleted image used is gone from the content index and from Blob storage; the shared layer stays, and the other
/// image pulls again with the digest it was pushed with.
/// </summary>
[Collection(RealClientsGroup.Name)]
public sealed class DockerCollectionTests(RegistryProcess registry)
{
    private static readonly string[] ManifestTypes =
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        OciTestClient.OciManifest,
    ];

    [Fact]
    public async Task DeletedImage_ItsOwnLayersAreCollected_TheSharedBaseStays_AndTheOtherImagePullsWithItsDigest()
    {
        await using var gc = await CollectedStorage.StartAsync(registry.Storage);
        var docker = await DockerEngine.StartAsync();
        var address = gc.Pusher.BaseAddress.Authority;
        await docker.LoginAsync(address);
        var repo = RegistryFixture.NewRepository("dockergc");
        var (deleted, kept) = ($"{address}/{repo}:deleted", $"{address}/{repo}:kept");
        using (var context = new TemporaryDirectory())
        {
            // One context and one base file: both builds make the same first layer, so the second push reuses it.
            await File.WriteAllBytesAsync(context.Combine("base"), OciTestClient.RandomBytes(192 * 1024));
            foreach (var (reference, own) in new[] { (deleted, "own-deleted"), (kept, "own-kept") })
            {
                await File.WriteAllBytesAsync(context.Combine(own), OciTestClient.RandomBytes(128 * 1024));
                await File.WriteAllTextAsync(context.Combine(own + ".Dockerfile"), $"FROM scratch\nCOPY base /base\nCOPY {own} /{own}\n");
                await docker.Docker("build", "--file", context.Combine(own + ".Dockerfile"), "--tag", reference, context.Path);
            }
        }
        var deletedDigest = await docker.PushAsync(deleted);
        var keptDigest = await docker.PushAsync(kept);

        var gone = await BlobsOfAsync(gc, repo, deletedDigest);
        var stays = await BlobsOfAsync(gc, repo, keptDigest);
        var shared = Assert.Single(gone.Layers.Intersect(stays.Layers));
        Assert.Equal(shared, gone.Layers[0]);
        string[] onlyDeleted = [gone.Config, .. gone.Layers.Except([shared])];
        string[] onlyKept = [stays.Config, .. stays.Layers.Except([shared])];
        Assert.Equal(2, onlyDeleted.Length);
        var blobNames = new Dictionary<string, string>();
        foreach (var digest in onlyDeleted.Concat(onlyKept).Append(shared))
        {
            blobNames[digest] = Assert.IsType<string>(await gc.BlobNameOfAsync(digest));
        }

        Assert.Equal(HttpStatusCode.Accepted, (await gc.Client.DeleteAsync($"/v2/{repo}/manifests/deleted")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await gc.Client.DeleteAsync($"/v2/{repo}/manifests/{deletedDigest}")).StatusCode);
        var collected = (await gc.CollectFullyAsync()).SelectMany(report => report.Items).ToList();

        foreach (var digest in onlyDeleted)
        {
            Assert.Contains(collected, item => item.Kind == CollectedKind.Link && item.Digest.Value == digest);
            Assert.Contains(collected, item => item.Kind == CollectedKind.Content && item.Digest.Value == digest);
            Assert.Null(await gc.BlobNameOfAsync(digest));
            Assert.False(await gc.BlobExistsAsync(blobNames[digest]), $"the bytes of {digest} are still in Blob storage");
            Assert.False(await gc.RowExistsAsync(repo, "blob:" + digest));
        }
        foreach (var digest in onlyKept.Append(shared))
        {
            Assert.DoesNotContain(collected, item => item.Digest.Value == digest);
            Assert.Equal(blobNames[digest], await gc.BlobNameOfAsync(digest));
            Assert.True(await gc.BlobExistsAsync(blobNames[digest]), $"the bytes of {digest} went");
            Assert.True(await gc.RowExistsAsync(repo, "blob:" + digest));
        }

        await docker.Docker("rmi", deleted, kept);
        await docker.Docker("pull", kept);
        Assert.Equal(keptDigest, await docker.RepoDigestAsync(kept));
    }

    /// <summary>The config and layer digests of the manifest <paramref name="digest"/>, as the registry serves it.</summary>
    private static async Task<(string Config, string[] Layers)> BlobsOfAsync(CollectedStorage gc, string repo, string digest)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/manifests/{digest}");
        foreach (var type in ManifestTypes)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }
        using var response = await gc.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var manifest = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        var config = manifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!;
        var layers = manifest.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!).ToArray();
        Assert.Equal(2, layers.Length);
        return (config, layers);
    }
}
