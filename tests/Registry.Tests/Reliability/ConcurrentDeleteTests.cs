using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>
/// Deletes racing pushes, and deletes of what a repository still uses. A second instance holds its delete at the
/// moment it is about to write (<see cref="StorageGate"/>) while the fixture's instance pushes: a delete is all or
/// nothing, a tag a push acknowledged is never removed by a delete that began before it, and nothing a tagged image
/// needs can be deleted out from under it.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class ConcurrentDeleteTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly StorageGate _gate = new();
    private readonly OciTestClient _oci = new(registry.Client);
    private ExtraRegistry? _second;
    private HttpClient _secondClient = null!;

    public async Task InitializeAsync()
    {
        _second = await ExtraRegistry.StartAsync(registry.Storage, ["--Audit:Enabled=false"], builder => builder.Services.AddSingleton<HttpPipelinePolicy>(_gate));
        _secondClient = _second.OwnerClient();
    }

    public async Task DisposeAsync()
    {
        _gate.Release();
        _secondClient.Dispose();
        await _second!.DisposeAsync();
    }

    [Fact]
    public async Task DeleteManifest_RacingAPushOfItUnderANewTag_ChangesNothing_AndTheNewTagStays()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "one");
        await _oci.PutManifestAsync(repo, "two", manifest);
        var digest = OciTestClient.DigestOf(manifest);

        _gate.HoldBefore(StorageGate.IsBatch);
        var delete = _secondClient.DeleteAsync($"/v2/{repo}/manifests/{digest}");
        await _gate.Reached;
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "three", manifest)).StatusCode);
        _gate.Release();
        var refused = await delete;
        await OciTestClient.AssertErrorAsync(refused, HttpStatusCode.ServiceUnavailable, "UNAVAILABLE");
        Assert.NotNull(refused.Headers.RetryAfter);

        foreach (var tag in new[] { "one", "two", "three" })
        {
            Assert.Equal(manifest, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{tag}"));
        }
        // Started afterwards, the same delete removes all of it.
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        foreach (var tag in new[] { "one", "two", "three" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/{tag}")).StatusCode);
        }
    }

    [Fact]
    public async Task DeleteManifest_RacingAMoveOfOneOfItsTags_ChangesNothing()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "stay");
        await _oci.PutManifestAsync(repo, "moving", manifest);
        var other = await _oci.PushImageAsync(repo, "other");
        var digest = OciTestClient.DigestOf(manifest);

        _gate.HoldBefore(StorageGate.IsBatch);
        var delete = _secondClient.DeleteAsync($"/v2/{repo}/manifests/{digest}");
        await _gate.Reached;
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "moving", other)).StatusCode);
        _gate.Release();
        await OciTestClient.AssertErrorAsync(await delete, HttpStatusCode.ServiceUnavailable, "UNAVAILABLE");

        Assert.Equal(manifest, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/stay"));
        Assert.Equal(other, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/moving"));
        Assert.Equal(manifest, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{digest}"));
    }

    [Fact]
    public async Task DeleteTag_RacingAMoveOfIt_ChangesNothing()
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "moving");
        var other = await _oci.PushImageAsync(repo, "other");

        _gate.HoldBefore(StorageGate.IsBatch);
        var delete = _secondClient.DeleteAsync($"/v2/{repo}/manifests/moving");
        await _gate.Reached;
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "moving", other)).StatusCode);
        _gate.Release();
        await OciTestClient.AssertErrorAsync(await delete, HttpStatusCode.ServiceUnavailable, "UNAVAILABLE");
        Assert.Equal(other, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/moving"));
    }

    [Fact]
    public async Task DeleteChildOfAnIndex_Is409Denied_NamingTheIndex_UntilTheIndexIsDeleted()
    {
        var repo = RegistryFixture.NewRepository();
        var amd64 = await _oci.PushImageAsync(repo, "amd64");
        var arm64 = await _oci.PushImageAsync(repo, "arm64");
        var index = Index(amd64, arm64);
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "multi", index, OciTestClient.OciIndex)).StatusCode);
        var child = OciTestClient.DigestOf(arm64);

        var refused = await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{child}");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var body = await refused.Content.ReadAsStringAsync();
        Assert.Contains("\"DENIED\"", body, StringComparison.Ordinal);
        Assert.Contains(OciTestClient.DigestOf(index), body, StringComparison.Ordinal);
        Assert.Equal(arm64, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/arm64"));
        Assert.Equal(arm64, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{child}"));

        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(index)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{child}")).StatusCode);
    }

    [Fact]
    public async Task DeleteLayerOfATaggedImage_Is409Denied_UntilItsManifestIsDeleted()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "v1");
        var layer = LayerOf(manifest);

        var refused = await registry.Client.DeleteAsync($"/v2/{repo}/blobs/{layer}");
        await OciTestClient.AssertErrorAsync(refused, HttpStatusCode.Conflict, "DENIED");
        Assert.Equal(HttpStatusCode.OK, (await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{layer}")).StatusCode);
        // The manifest can still be pushed again: its layer is there.
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "v1-again", manifest)).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(manifest)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/blobs/{layer}")).StatusCode);
    }

    [Fact]
    public async Task DeleteBlob_HeldBeforeItsDelete_WhileAManifestUsingItIsPushed_Is409_AndTheImageStaysWhole()
    {
        var repo = RegistryFixture.NewRepository();
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
        var layer = OciTestClient.RandomBytes(2000);
        await _oci.PushBlobAsync(repo, config);
        var layerDigest = await _oci.PushBlobAsync(repo, layer);

        _gate.HoldBefore(request => StorageGate.IsEntityDelete(request, "blob:"));
        var delete = _secondClient.DeleteAsync($"/v2/{repo}/blobs/{layerDigest}");
        await _gate.Reached;
        var manifest = OciTestClient.ImageManifest(config, [layer]);
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "v1", manifest)).StatusCode);
        _gate.Release();
        await OciTestClient.AssertErrorAsync(await delete, HttpStatusCode.Conflict, "DENIED");
        Assert.Equal(layer, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{layerDigest}"));
    }

    [Fact]
    public async Task PushManifest_HeldBeforeItsTransaction_WhileItsLayerIsDeleted_Is400ManifestBlobUnknown()
    {
        var repo = RegistryFixture.NewRepository();
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"arm64\",\"os\":\"linux\"}");
        var layer = OciTestClient.RandomBytes(2000);
        await _oci.PushBlobAsync(repo, config);
        var layerDigest = await _oci.PushBlobAsync(repo, layer);
        var manifest = OciTestClient.ImageManifest(config, [layer]);

        _gate.HoldBefore(StorageGate.IsBatch);
        var push = new OciTestClient(_secondClient).PutManifestAsync(repo, "v1", manifest);
        await _gate.Reached;
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/blobs/{layerDigest}")).StatusCode);
        _gate.Release();
        var refused = await push;
        await OciTestClient.AssertErrorAsync(refused, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        Assert.Contains(layerDigest, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
    }

    private static byte[] Index(params byte[][] children) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = OciTestClient.OciIndex,
        ["manifests"] = new JsonArray(children.Select(c => (JsonNode)OciTestClient.Descriptor(OciTestClient.OciManifest, c)).ToArray()),
    }.ToJsonString());

    private static string LayerOf(byte[] manifest) =>
        JsonNode.Parse(manifest)!["layers"]![0]!["digest"]!.GetValue<string>();
}
