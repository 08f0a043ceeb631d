using System.Net;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Events;
using Registry.Jobs;
using Registry.Oci;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Replication;

/// <summary>
/// Replication under faults (RELIABILITY's storage outage and killed-process rows, for a replica): with the replica's
/// storage down an event is refused, so its queue or the primary's publisher keeps it, and applied once storage is back;
/// a copy that died before its commit leaves nothing that looks complete, and its retry completes it; and no layer byte
/// passes through the replica, whatever the size.
/// </summary>
public sealed class ReplicationFaultTests : IAsyncLifetime
{
    private const string Secret = "fault-test-secret";
    private readonly BodyBytes _bytes = new();
    private ReplicatedPair _pair = null!;
    private OciTestClient _primary = null!;

    public async Task InitializeAsync()
    {
        // Storage calls fail fast here: one try each, so an outage is answered within seconds.
        _pair = await ReplicatedPair.StartAsync(eventSecret: null, ["--Storage:MaxRetries=0", $"--Replication:EventSecret={Secret}"], null, _bytes);
        _primary = new OciTestClient(_pair.Primary.OwnerClient());
    }

    public async Task DisposeAsync() => await _pair.DisposeAsync();

    private static bool IsReplicaStorage(Request request) => ReplicatedPair.IsCallTo(request, ReplicatedPair.ReplicaAccount);

    private Task<string?> ReplicaTagAsync(string repository, string tag) => _pair.ReplicaTagAsync(repository, tag);
    /// <summary>The primary's push event for <paramref name="manifest"/> as <c>repository:tag</c>, in the CloudEvents form its publisher sends.</summary>
    private static string EventBatch(string repository, string tag, byte[] manifest) =>
        new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
        {
            ["specversion"] = "1.0",
            ["id"] = Guid.NewGuid().ToString("N"),
            ["source"] = "test",
            ["type"] = RegistryEvents.ImagePushed,
            ["subject"] = $"{repository}:{tag}",
            ["data"] = new System.Text.Json.Nodes.JsonObject
            {
                ["action"] = "push",
                ["target"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["repository"] = repository, ["tag"] = tag, ["digest"] = OciTestClient.DigestOf(manifest), ["size"] = manifest.Length,
                },
            },
        }).ToJsonString();

    private async Task<HttpResponseMessage> DeliverAsync(string batch, string? secret = Secret)
    {
        using var anonymous = _pair.Replica.AnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/_replication/events")
        {
            Content = new StringContent(batch, Encoding.UTF8, "application/cloudevents-batch+json"),
        };
        if (secret is not null)
        {
            request.Headers.TryAddWithoutValidation(WebhookSink.SignatureHeader, WebhookSink.Sign(Encoding.UTF8.GetBytes(batch), secret));
        }
        return await anonymous.SendAsync(request);
    }

    [Fact]
    public async Task ReplicaStorageDown_EventIsRefusedForLater_ThenAppliedOnceItIsBack_AndVerifyFindsNothingLeft()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _primary.PushImageAsync(repo, "v1");
        var batch = EventBatch(repo, "v1", manifest);

        _pair.Gate.FailWhile(IsReplicaStorage);
        var refused = await DeliverAsync(batch);
        // The queue trigger's path refuses it the same way: the host retries the message, then poisons it.
        var job = _pair.Replica.Services.GetRequiredService<ReplicationJob>();
        await Assert.ThrowsAnyAsync<Exception>(() => job.HandleAsync(batch, CancellationToken.None));
        _pair.Gate.StopFailing();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Null(await ReplicaTagAsync(repo, "v1"));
        var retried = await DeliverAsync(batch);
        Assert.True(retried.StatusCode == HttpStatusCode.OK, await retried.Content.ReadAsStringAsync());
        Assert.Equal(OciTestClient.DigestOf(manifest), await ReplicaTagAsync(repo, "v1"));
        var verify = await AdminStorage.RunWithAsync(_pair.Storage.ConnectionStringOf(ReplicatedPair.ReplicaAccount),
            "replication", "verify", "--primary", _pair.Storage.ConnectionString);
        Assert.True(verify.ExitCode == 0, verify.Output + verify.Error);
    }

    [Fact]
    public async Task CopyKilledBeforeItsCommit_LeavesNothingServed_AndTheRetryCompletesIt()
    {
        var repo = RegistryFixture.NewRepository();
        var layer = OciTestClient.RandomBytes(2_000_000);
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":\"{Guid.NewGuid()}\"}}");
        await _primary.PushBlobAsync(repo, config);
        await _primary.PushBlobAsync(repo, layer);
        var manifest = OciTestClient.ImageManifest(config, [layer]);
        Assert.Equal(HttpStatusCode.Created, (await _primary.PutManifestAsync(repo, "v1", manifest)).StatusCode);
        var batch = EventBatch(repo, "v1", manifest);

        // The blocks are staged, then the process "dies" at the commit of the block list.
        _pair.Gate.FailWhile(request => IsReplicaStorage(request) && StorageGate.IsCommit(request));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await DeliverAsync(batch)).StatusCode);
        _pair.Gate.StopFailing();
        using var replica = _pair.Replica.OwnerClient();
        Assert.Null(await ReplicaTagAsync(repo, "v1"));

        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(batch)).StatusCode);
        using var blob = await replica.GetAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, blob.StatusCode);
        Assert.StartsWith($"/{ReplicatedPair.ReplicaAccount}/", blob.Headers.Location!.AbsolutePath, StringComparison.Ordinal);
        using var plain = new HttpClient();
        Assert.Equal(layer, await plain.GetByteArrayAsync(blob.Headers.Location));
    }

    [Fact]
    public async Task LayerCopy_PassesNoLayerByteThroughTheReplica()
    {
        var repo = RegistryFixture.NewRepository();
        var layerSize = 24 * 1024 * 1024;
        var manifest = await _primary.PushImageAsync(repo, "big", layerSize);
        _bytes.Reset();

        Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(EventBatch(repo, "big", manifest))).StatusCode);

        Assert.Equal(OciTestClient.DigestOf(manifest), await ReplicaTagAsync(repo, "big"));
        // Rows, a block list and the manifest: kilobytes, against a 24 MiB layer copied.
        Assert.True(_bytes.Total < 256 * 1024, $"{_bytes.Total} bytes of request and response bodies passed through the replica");
        Assert.True(_bytes.Calls > 0);
    }

    [Fact]
    public async Task BatchWithoutTheRightSignature_Is401_AndNotApplied()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _primary.PushImageAsync(repo, "v1");
        var batch = EventBatch(repo, "v1", manifest);

        Assert.Equal(HttpStatusCode.Unauthorized, (await DeliverAsync(batch, secret: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await DeliverAsync(batch, secret: "another-secret")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await DeliverAsync("[{\"id\":\"x\"}]")).StatusCode);
        Assert.Null(await ReplicaTagAsync(repo, "v1"));
    }

    /// <summary>Sums the bodies of every storage request and response of the replica.</summary>
    private sealed class BodyBytes : HttpPipelinePolicy
    {
        private long _total;
        private long _calls;

        public long Total => Interlocked.Read(ref _total);

        public long Calls => Interlocked.Read(ref _calls);

        public void Reset() => (_total, _calls) = (0, 0);

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            Count(message);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            ProcessNext(message, pipeline);
            Count(message);
        }

        private void Count(HttpMessage message)
        {
            var sent = message.Request.Content is { } content && content.TryComputeLength(out var length) ? length : 0;
            // A HEAD's Content-Length is the blob's size, not bytes received.
            var received = message.Request.Method == RequestMethod.Head ? 0 : message.Response.Headers.ContentLength ?? 0;
            Interlocked.Add(ref _total, sent + received);
            Interlocked.Increment(ref _calls);
        }
    }
}
