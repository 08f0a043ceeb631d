using System.Net;
using System.Security.Cryptography;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>
/// Several requests completing one upload session at once, as a client or proxy that retries a PUT it thinks timed
/// out does. A second instance holds its completion at the worst moment (<see cref="StorageGate"/>) while the fixture's
/// instance completes the same session: what one of them acknowledged is never deleted by the other, and the digest
/// stays pullable from every repository.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class ConcurrentCompletionTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly StorageGate _gate = new();
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
    public async Task SecondPut_HeldBeforeItsCommit_WhileTheFirstCompletes_Gets201_AndTheBlobStaysReadable()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(3_000_000);
        var digest = OciTestClient.DigestOf(content);
        var location = await StagedUploadAsync(repo, content);

        _gate.HoldBefore(StorageGate.IsCommit);
        var retried = _secondClient.PutAsync(OciTestClient.WithDigest(location, digest), null);
        await _gate.Reached;
        var first = await registry.Client.PutAsync(OciTestClient.WithDigest(location, digest), null);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        _gate.Release();
        Assert.Equal(HttpStatusCode.Created, (await retried).StatusCode);

        Assert.Equal(content, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{digest}"));
        await AssertPushableAndPullableElsewhereAsync(content);
    }

    [Fact]
    public async Task SecondPut_HeldAfterItsCommit_WhileTheFirstCompletes_Gets201_AndTheBlobStaysReadable()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(300_000);
        var digest = OciTestClient.DigestOf(content);
        var location = await StagedUploadAsync(repo, content);

        // The held request created the blob; the fixture's then adopts it and records it first.
        _gate.HoldAfter(StorageGate.IsCommit);
        var creator = _secondClient.PutAsync(OciTestClient.WithDigest(location, digest), null);
        await _gate.Reached;
        Assert.Equal(HttpStatusCode.Created, (await registry.Client.PutAsync(OciTestClient.WithDigest(location, digest), null)).StatusCode);
        _gate.Release();
        Assert.Equal(HttpStatusCode.Created, (await creator).StatusCode);

        Assert.Equal(content, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{digest}"));
        await AssertPushableAndPullableElsewhereAsync(content);
    }

    [Fact]
    public async Task WrongDigestRetry_HeldBeforeItsCommit_NeverDeletesTheBlobTheRightOneAcknowledged()
    {
        // sha512 completions read the committed blob back to check it: the losing one used to delete it.
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(200_000);
        var right = "sha512:" + Convert.ToHexStringLower(SHA512.HashData(content));
        var wrong = "sha512:" + Convert.ToHexStringLower(SHA512.HashData(content.AsSpan(1)));
        var location = await StagedUploadAsync(repo, content);

        _gate.HoldBefore(StorageGate.IsCommit);
        var loser = _secondClient.PutAsync(OciTestClient.WithDigest(location, wrong), null);
        await _gate.Reached;
        Assert.Equal(HttpStatusCode.Created, (await registry.Client.PutAsync(OciTestClient.WithDigest(location, right), null)).StatusCode);
        _gate.Release();
        var refused = await loser;
        Assert.True(refused.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"the wrong digest got {(int)refused.StatusCode}");

        Assert.Equal(content, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{right}"));
    }

    [Fact]
    public async Task RightDigest_HeldBeforeItsCommit_WhileAWrongOneDiscardsTheUpload_GetsAClear404()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(200_000);
        var right = "sha512:" + Convert.ToHexStringLower(SHA512.HashData(content));
        var wrong = "sha512:" + Convert.ToHexStringLower(SHA512.HashData(content.AsSpan(1)));
        var location = await StagedUploadAsync(repo, content);

        _gate.HoldBefore(StorageGate.IsCommit);
        var late = _secondClient.PutAsync(OciTestClient.WithDigest(location, right), null);
        await _gate.Reached;
        await OciTestClient.AssertErrorAsync(
            await registry.Client.PutAsync(OciTestClient.WithDigest(location, wrong), null), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        _gate.Release();
        await OciTestClient.AssertErrorAsync(await late, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");

        Assert.Equal(HttpStatusCode.NotFound, (await _secondClient.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repo}/blobs/{right}"))).StatusCode);
        await AssertPushableAndPullableElsewhereAsync(content, right);
    }

    [Fact]
    public async Task CompletedSession_PutAgain_Is404BlobUploadUnknown_AndTheBlobStays()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(5000);
        var digest = OciTestClient.DigestOf(content);
        var location = await StagedUploadAsync(repo, content);
        Assert.Equal(HttpStatusCode.Created, (await registry.Client.PutAsync(OciTestClient.WithDigest(location, digest), null)).StatusCode);
        await OciTestClient.AssertErrorAsync(
            await registry.Client.PutAsync(OciTestClient.WithDigest(location, digest), null), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.Equal(content, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{digest}"));
    }

    /// <summary>Starts an upload and stages <paramref name="content"/> in one PATCH; returns the location to complete.</summary>
    private async Task<Uri> StagedUploadAsync(string repo, byte[] content)
    {
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var patch = await registry.Client.PatchAsync(start.Headers.Location, OciTestClient.Octets(content));
        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        return patch.Headers.Location!;
    }

    /// <summary>The same bytes pushed to another repository afterwards are accepted and pull whole: the digest is not poisoned.</summary>
    private async Task AssertPushableAndPullableElsewhereAsync(byte[] content, string? digest = null)
    {
        digest ??= OciTestClient.DigestOf(content);
        var other = RegistryFixture.NewRepository();
        var put = await registry.Client.PostAsync(OciTestClient.WithDigest(new Uri($"/v2/{other}/blobs/uploads/", UriKind.Relative), digest), OciTestClient.Octets(content));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(content, await registry.FollowingClient.GetByteArrayAsync($"/v2/{other}/blobs/{digest}"));
    }
}
