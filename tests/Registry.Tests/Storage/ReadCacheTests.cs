using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Storage;

/// <summary>
/// The read cache, seen from two instances on the same storage: <c>writer</c> on the real clock, <c>reader</c> on
/// a manual clock with its storage calls counted. Reads repeat without storage calls; a change through the reader
/// shows at once; a change through the writer shows on the reader no later than the cache lifetime of its kind
/// (tags 1 s, manifests by digest and blob links 30 s).
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class ReadCacheTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);
    private readonly CallCounter _calls = new();
    private ExtraRegistry _writer = null!;
    private ExtraRegistry _reader = null!;
    private HttpClient _writerClient = null!;
    private HttpClient _readerClient = null!;

    public async Task InitializeAsync()
    {
        string[] quiet = ["--Audit:Enabled=false", "--Jobs:InProcess=false"];
        _writer = await ExtraRegistry.StartAsync(registry.Storage, quiet);
        _reader = await ExtraRegistry.StartAsync(registry.Storage, quiet, builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(_clock);
            builder.Services.AddSingleton<Azure.Core.Pipeline.HttpPipelinePolicy>(_calls);
        });
        _writerClient = _writer.OwnerClient();
        _readerClient = _reader.OwnerClient();
    }

    public async Task DisposeAsync()
    {
        _writerClient.Dispose();
        _readerClient.Dispose();
        await _reader.DisposeAsync();
        await _writer.DisposeAsync();
    }

    [Fact]
    public async Task RepeatedReads_CostNoStorageCall()
    {
        var (repo, manifest) = await PushAsync(_writerClient, "v1");
        var digest = OciTestClient.DigestOf(manifest);
        var layer = LayerOf(manifest);
        string[] paths = [$"/v2/{repo}/manifests/v1", $"/v2/{repo}/manifests/{digest}", $"/v2/{repo}/blobs/{layer}"];
        foreach (var path in paths)
        {
            Assert.Equal(HttpStatusCode.OK, (await HeadAsync(path)).StatusCode);
        }
        var before = _calls.Count;
        foreach (var path in paths)
        {
            Assert.Equal(HttpStatusCode.OK, (await HeadAsync(path)).StatusCode);
        }
        using var get = await GetManifestAsync($"/v2/{repo}/manifests/v1");
        Assert.Equal(manifest, await get.Content.ReadAsByteArrayAsync());
        using var blob = await _readerClient.GetAsync($"/v2/{repo}/blobs/{layer}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, blob.StatusCode);
        Assert.Equal(before, _calls.Count);
    }

    [Fact]
    public async Task TagMovedThroughAnotherInstance_IsSeenWithinOneSecond()
    {
        var (repo, first) = await PushAsync(_writerClient, "moving");
        Assert.Equal(OciTestClient.DigestOf(first), await TagDigestAsync(repo, "moving"));

        var second = await new OciTestClient(_writerClient).PushImageAsync(repo, "moving");
        Assert.Equal(OciTestClient.DigestOf(first), await TagDigestAsync(repo, "moving"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(OciTestClient.DigestOf(second), await TagDigestAsync(repo, "moving"));
    }

    [Fact]
    public async Task DeletesThroughThisInstance_AreSeenAtOnce()
    {
        var (repo, manifest) = await PushAsync(_readerClient, "gone");
        var digest = OciTestClient.DigestOf(manifest);
        var layer = LayerOf(manifest);
        string[] paths = [$"/v2/{repo}/manifests/gone", $"/v2/{repo}/manifests/{digest}", $"/v2/{repo}/blobs/{layer}"];
        foreach (var path in paths)
        {
            Assert.Equal(HttpStatusCode.OK, (await HeadAsync(path)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Accepted, (await _readerClient.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _readerClient.DeleteAsync($"/v2/{repo}/blobs/{layer}")).StatusCode);
        foreach (var path in paths)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await HeadAsync(path)).StatusCode);
        }
    }

    [Fact]
    public async Task UntagThroughThisInstance_IsSeenAtOnce()
    {
        var (repo, _) = await PushAsync(_readerClient, "old");
        Assert.Equal(HttpStatusCode.OK, (await HeadAsync($"/v2/{repo}/manifests/old")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _readerClient.DeleteAsync($"/v2/{repo}/manifests/old")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await HeadAsync($"/v2/{repo}/manifests/old")).StatusCode);
    }

    [Fact]
    public async Task DeletesThroughAnotherInstance_AreSeenWithinTheContentLifetime()
    {
        var (repo, manifest) = await PushAsync(_writerClient, "elsewhere");
        var digest = OciTestClient.DigestOf(manifest);
        var layer = LayerOf(manifest);
        string[] paths = [$"/v2/{repo}/manifests/{digest}", $"/v2/{repo}/blobs/{layer}"];
        foreach (var path in paths)
        {
            Assert.Equal(HttpStatusCode.OK, (await HeadAsync(path)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Accepted, (await _writerClient.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _writerClient.DeleteAsync($"/v2/{repo}/blobs/{layer}")).StatusCode);
        _clock.Advance(TimeSpan.FromSeconds(29));
        foreach (var path in paths)
        {
            Assert.Equal(HttpStatusCode.OK, (await HeadAsync(path)).StatusCode);
        }
        _clock.Advance(TimeSpan.FromSeconds(1));
        foreach (var path in paths)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await HeadAsync(path)).StatusCode);
        }
    }

    [Fact]
    public async Task AbsentContent_IsNeverCached_SoAPushElsewhereIsSeenAtOnce()
    {
        var repo = RegistryFixture.NewRepository();
        var layer = OciTestClient.RandomBytes(100);
        var path = $"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}";
        Assert.Equal(HttpStatusCode.NotFound, (await HeadAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await HeadAsync($"/v2/{repo}/manifests/latest")).StatusCode);

        await new OciTestClient(_writerClient).PushBlobAsync(repo, layer);
        await new OciTestClient(_writerClient).PushImageAsync(repo, "latest");
        Assert.Equal(HttpStatusCode.OK, (await HeadAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await HeadAsync($"/v2/{repo}/manifests/latest")).StatusCode);
    }

    private static async Task<(string Repository, byte[] Manifest)> PushAsync(HttpClient client, string tag)
    {
        var repo = RegistryFixture.NewRepository();
        return (repo, await new OciTestClient(client).PushImageAsync(repo, tag));
    }

    private static string LayerOf(byte[] manifest) =>
        System.Text.Json.Nodes.JsonNode.Parse(manifest)!["layers"]![0]!["digest"]!.GetValue<string>();

    private async Task<HttpResponseMessage> HeadAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, path);
        request.Headers.Accept.ParseAdd(OciTestClient.OciManifest);
        return await _readerClient.SendAsync(request);
    }

    private async Task<HttpResponseMessage> GetManifestAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd(OciTestClient.OciManifest);
        return await _readerClient.SendAsync(request);
    }

    private async Task<string> TagDigestAsync(string repo, string tag)
    {
        using var response = await HeadAsync($"/v2/{repo}/manifests/{tag}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("Docker-Content-Digest").Single();
    }
}
