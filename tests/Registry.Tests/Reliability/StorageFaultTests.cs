using System.Net;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>
/// Faults between the registry and storage: a second registry instance on the same Azurite, with a pipeline
/// policy that can make every storage call fail. Clients see 503 with Retry-After, never a 500, and an upload
/// moves between instances (docs/reliability.md rows F6, F8 and F12, in their simplest form).
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class StorageFaultTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly StorageOutage _fault = new();
    private ExtraRegistry? _second;
    private HttpClient _secondClient = null!;

    public async Task InitializeAsync()
    {
        _second = await ExtraRegistry.StartAsync(registry.Storage, ["--Storage:MaxRetries=1"],
            builder => builder.Services.AddSingleton<HttpPipelinePolicy>(_fault));
        _secondClient = _second.OwnerClient();
    }

    public async Task DisposeAsync()
    {
        _secondClient.Dispose();
        await _second!.DisposeAsync();
    }

    [Fact]
    public async Task StorageDown_Every_Operation_Answers503WithRetryAfter_ThenRecovers()
    {
        // Pushed through the other instance, so none of it is in this instance's read cache.
        var repo = RegistryFixture.NewRepository();
        var manifest = await new OciTestClient(registry.Client).PushImageAsync(repo, "v1");
        var ownRepo = RegistryFixture.NewRepository();
        var own = await new OciTestClient(_secondClient).PushImageAsync(ownRepo, "v1");
        _fault.Failing = true;
        // What this instance pushed itself is in its read cache, and its caller's token state in memory: still served.
        Assert.Equal(own, await _secondClient.GetByteArrayAsync($"/v2/{ownRepo}/manifests/v1"));
        var requests = new (HttpMethod Method, string Path, HttpContent? Body)[]
        {
            (HttpMethod.Get, $"/v2/{repo}/manifests/v1", null),
            (HttpMethod.Head, $"/v2/{repo}/blobs/{OciTestClient.DigestOf(manifest)}", null),
            (HttpMethod.Post, $"/v2/{repo}/blobs/uploads/", null),
            (HttpMethod.Put, $"/v2/{repo}/manifests/v2", OciTestClient.Json(manifest, OciTestClient.OciManifest)),
            (HttpMethod.Get, $"/v2/{repo}/tags/list", null),
        };
        foreach (var (method, path, body) in requests)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body };
            var response = await _secondClient.SendAsync(request);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            if (method != HttpMethod.Head)
            {
                Assert.Equal("UNAVAILABLE", await OciTestClient.ErrorCodeAsync(response));
            }
        }
        _fault.Failing = false;
        Assert.Equal(manifest, await _secondClient.GetByteArrayAsync($"/v2/{repo}/manifests/v1"));
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/v2")).StatusCode);
    }

    [Fact]
    public async Task Upload_StartedOnOneInstance_ContinuesAndCompletesOnAnother()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(3000);
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var first = OciTestClient.Octets(content[..1000]);
        first.Headers.TryAddWithoutValidation("Content-Range", "0-999");
        var patch = await _secondClient.SendAsync(new HttpRequestMessage(HttpMethod.Patch, start.Headers.Location) { Content = first });
        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        var second = OciTestClient.Octets(content[1000..]);
        second.Headers.TryAddWithoutValidation("Content-Range", "1000-2999");
        var patch2 = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, patch.Headers.Location) { Content = second });
        Assert.Equal("0-2999", patch2.Headers.GetValues("Range").Single());
        var put = await _secondClient.PutAsync(OciTestClient.WithDigest(patch2.Headers.Location!, OciTestClient.DigestOf(content)), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(content, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(content)}"));
    }
}
