using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Auth;
using Registry.Storage;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>
/// Storage that stalls instead of failing (docs/reliability.md rows F6 and F9): a second registry instance whose storage
/// calls a <see cref="StorageStall"/> holds until released or until the call's own deadline cancels it. Every request
/// that needs storage answers 503 + Retry-After + UNAVAILABLE while the stall lasts; the stall is released only after
/// those answers arrived, so each was given within its deadline and not by the stall ending. What the read cache holds
/// is still served, and everything works again once storage does, without a restart.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class StorageStallTests(RegistryFixture registry) : IAsyncLifetime
{
    // Short deadlines keep the suite fast; caches and token state outlive the test, so only storage decides.
    private static readonly string[] ShortDeadlines =
    [
        "--Storage:CallDeadline=00:00:02", "--Storage:TransferDeadline=00:00:03", "--Storage:RequestBudget=00:00:30",
        "--Auth:TokenStateCache=00:10:00", "--Cache:Tags=00:10:00", "--Cache:Content=00:10:00", "--Jobs:InProcess=false",
    ];

    // The opposite: calls may wait for ever, the request only 3 s, so only the request budget can answer.
    private static readonly string[] ShortBudget =
    [
        "--Storage:CallDeadline=00:10:00", "--Storage:TransferDeadline=00:10:00", "--Storage:RequestBudget=00:00:03",
        "--Auth:TokenStateCache=00:10:00", "--Cache:Tags=00:10:00", "--Cache:Content=00:10:00", "--Jobs:InProcess=false",
    ];

    private readonly StorageStall _stall = new();
    private ExtraRegistry? _second;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _second = await StartAsync(ShortDeadlines, _stall);
        _client = _second.OwnerClient();
    }

    public async Task DisposeAsync()
    {
        _stall.Release();
        _client.Dispose();
        await _second!.DisposeAsync();
    }

    private Task<ExtraRegistry> StartAsync(string[] settings, StorageStall stall) =>
        ExtraRegistry.StartAsync(registry.Storage, settings, builder => builder.Services.AddSingleton<HttpPipelinePolicy>(stall));

    private static bool IsBlockStage(Request request) => StorageCallMetrics.Describe(request).Operation == "PUT block";

    private static async Task AssertUnavailableAsync(HttpResponseMessage response)
    {
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "UNAVAILABLE");
        Assert.NotNull(response.Headers.RetryAfter);
    }

    private static HttpRequestMessage TokenRequest(string user, string password) => new(HttpMethod.Get, "/oauth2/token?service=registry")
    {
        Headers = { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"))) },
    };

    [Fact]
    public async Task StalledStorage_RequestsAnswer503WithinTheirDeadline_CachedManifestStillServed_ThenRecovers()
    {
        // Pushed through the other instance: none of it is in this instance's read cache.
        var repo = RegistryFixture.NewRepository();
        var manifest = await new OciTestClient(registry.Client).PushImageAsync(repo, "v1");
        var cachedRepo = RegistryFixture.NewRepository();
        var cached = await new OciTestClient(_client).PushImageAsync(cachedRepo, "v1");
        // The owner's token for the repository is fetched now, as a client that was already working has it.
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v2/{repo}/tags/list")).StatusCode);
        // A token this instance has not read yet: logging in with it needs storage.
        var user = "stall" + Guid.NewGuid().ToString("N")[..10];
        await registry.Services.GetRequiredService<RegistryTokens>().SaveAsync(
            new RegistryToken(user, [PasswordHasher.Hash("pw-" + user)], [], true, null), CancellationToken.None);
        using var anonymous = _second!.AnonymousClient();

        _stall.Stall();
        Assert.Equal(cached, await _client.GetByteArrayAsync($"/v2/{cachedRepo}/manifests/v1"));
        var requests = new Func<Task<HttpResponseMessage>>[]
        {
            () => _client.PostAsync($"/v2/{repo}/blobs/uploads/", null),
            () => _client.GetAsync($"/v2/{repo}/manifests/v1"),
            () => _client.PutAsync($"/v2/{repo}/manifests/v2", OciTestClient.Json(manifest, OciTestClient.OciManifest)),
            () => _client.GetAsync($"/v2/{repo}/tags/list"),
            () => anonymous.SendAsync(TokenRequest(user, "pw-" + user)),
        };
        foreach (var send in requests)
        {
            using var response = await send();
            await AssertUnavailableAsync(response);
        }
        Assert.True(_stall.HeldCount >= requests.Length, $"only {_stall.HeldCount} storage calls were held");
        _stall.Release();

        Assert.Equal(HttpStatusCode.Accepted, (await _client.PostAsync($"/v2/{repo}/blobs/uploads/", null)).StatusCode);
        Assert.Equal(manifest, await _client.GetByteArrayAsync($"/v2/{repo}/manifests/v1"));
        Assert.Equal(HttpStatusCode.Created, (await _client.PutAsync($"/v2/{repo}/manifests/v2", OciTestClient.Json(manifest, OciTestClient.OciManifest))).StatusCode);
        Assert.Contains("\"v2\"", await _client.GetStringAsync($"/v2/{repo}/tags/list"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(TokenRequest(user, "pw-" + user))).StatusCode);
        Assert.Equal(manifest, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/v2"));
    }

    [Fact]
    public async Task Patch_StalledMidStage_Answers503_ThenResumesFromTheReportedOffset_AndCompletes()
    {
        var repo = RegistryFixture.NewRepository();
        var content = OciTestClient.RandomBytes(1000 + (10 * 1024 * 1024));
        var start = await _client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var first = OciTestClient.Octets(content[..1000]);
        first.Headers.TryAddWithoutValidation("Content-Range", "0-999");
        var patch = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, start.Headers.Location) { Content = first });
        Assert.Equal("0-999", patch.Headers.GetValues("Range").Single());

        // The second chunk is three blocks: the first is staged, the other two stall.
        var staged = 0;
        _stall.Stall(request => IsBlockStage(request) && Interlocked.Increment(ref staged) > 1);
        var second = OciTestClient.Octets(content[1000..]);
        second.Headers.TryAddWithoutValidation("Content-Range", $"1000-{content.Length - 1}");
        using (var stalled = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, patch.Headers.Location) { Content = second }))
        {
            await AssertUnavailableAsync(stalled);
        }
        Assert.True(_stall.HeldCount >= 1);
        _stall.Release();

        // The session counts only what was recorded as staged: the first chunk.
        var status = await _client.GetAsync(patch.Headers.Location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-999", status.Headers.GetValues("Range").Single());
        var again = OciTestClient.Octets(content[1000..]);
        again.Headers.TryAddWithoutValidation("Content-Range", $"1000-{content.Length - 1}");
        var resumed = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, status.Headers.Location) { Content = again });
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        Assert.Equal($"0-{content.Length - 1}", resumed.Headers.GetValues("Range").Single());
        var put = await _client.PutAsync(OciTestClient.WithDigest(resumed.Headers.Location!, OciTestClient.DigestOf(content)), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(content, await registry.FollowingClient.GetByteArrayAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(content)}"));
    }

    [Fact]
    public async Task StalledCallWithoutDeadline_IsEndedByTheRequestBudget_As503()
    {
        var stall = new StorageStall();
        await using var instance = await StartAsync(ShortBudget, stall);
        using var client = instance.OwnerClient();
        var repo = RegistryFixture.NewRepository();
        await new OciTestClient(registry.Client).PushImageAsync(repo, "v1");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v2/{repo}/tags/list")).StatusCode);

        stall.Stall();
        using (var response = await client.GetAsync($"/v2/{repo}/manifests/v1"))
        {
            await AssertUnavailableAsync(response);
        }
        stall.Release();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
    }

    [Fact]
    public async Task Patch_StreamingLongerThanTheRequestBudget_IsNotCutOff()
    {
        var stall = new StorageStall();
        await using var instance = await StartAsync(ShortBudget, stall);
        using var client = instance.OwnerClient();
        var repo = RegistryFixture.NewRepository();
        var witnessRepo = RegistryFixture.NewRepository();
        await new OciTestClient(registry.Client).PushImageAsync(witnessRepo, "v1");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v2/{witnessRepo}/tags/list")).StatusCode);
        var start = await client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var content = OciTestClient.RandomBytes((4 * 1024 * 1024) + 1000);

        // The body's first block arrives and is staged (held here); the rest waits until the test sends it.
        stall.Stall(IsBlockStage);
        var body = new GatedContent(content, 4 * 1024 * 1024);
        body.Headers.TryAddWithoutValidation("Content-Range", $"0-{content.Length - 1}");
        var patch = client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, start.Headers.Location) { Content = body });
        await stall.FirstHeld;

        // A request started after the chunk's stream began: once its budget has run out, the chunk's would have too.
        stall.Stall();
        using (var witness = await client.GetAsync($"/v2/{witnessRepo}/manifests/v1"))
        {
            await AssertUnavailableAsync(witness);
        }
        stall.Release();
        body.SendRest();

        using var response = await patch;
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"0-{content.Length - 1}", response.Headers.GetValues("Range").Single());
    }

    /// <summary>A body whose first <c>head</c> bytes go at once and the rest only after <see cref="SendRest"/>.</summary>
    private sealed class GatedContent(byte[] content, int head) : HttpContent
    {
        private readonly TaskCompletionSource _rest = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void SendRest() => _rest.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(content.AsMemory(0, head));
            await stream.FlushAsync();
            await _rest.Task;
            await stream.WriteAsync(content.AsMemory(head));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = content.Length;
            return true;
        }
    }
}
