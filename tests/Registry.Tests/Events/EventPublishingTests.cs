using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Events;
using Registry.Jobs;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Events;

/// <summary>
/// Events from the outbox to a webhook, on tables of their own: every push and delete arrives as an ACR-shaped
/// CloudEvent, signed, in commit order; a sink that fails gets the same events again later, in order, with the same
/// ids; a rejected event is dead-lettered without blocking the ones after it; a crash between delivery and the
/// outbox move sends the event again; pushes go on while the sink is down, and the sweep delivers the backlog.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class EventPublishingTests(RegistryFixture registry) : IAsyncLifetime
{
    private const string Secret = "webhook-signing-secret";
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];
    private readonly StorageGate _gate = new();
    private EventReceiver _receiver = null!;
    private ExtraRegistry _registry = null!;
    private HttpClient _client = null!;
    private OciTestClient _oci = null!;

    public async Task InitializeAsync()
    {
        _receiver = await EventReceiver.StartAsync();
        _registry = await StartAsync(_receiver.Url, builder => builder.Services.AddSingleton<HttpPipelinePolicy>(_gate));
        _client = _registry.OwnerClient();
        _oci = new OciTestClient(_client);
    }

    public async Task DisposeAsync()
    {
        _gate.StopFailing();
        _gate.Release();
        _client.Dispose();
        await _registry.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task Push_ArrivesAsAnAcrImagePushed_SignedWithTheSecret_WithNoCredential()
    {
        var repo = RegistryFixture.NewRepository("events");
        var manifest = await _oci.PushImageAsync(repo, "v1");
        var digest = OciTestClient.DigestOf(manifest);

        var events = await _receiver.WaitForAsync(all => all.Any(e => Digest(e) == digest));
        var pushed = events.Single(e => Digest(e) == digest);
        Assert.Equal(RegistryEvents.ImagePushed, pushed.GetProperty("type").GetString());
        Assert.Equal("1.0", pushed.GetProperty("specversion").GetString());
        Assert.Equal($"{repo}:v1", pushed.GetProperty("subject").GetString());
        var data = pushed.GetProperty("data");
        Assert.Equal("push", data.GetProperty("action").GetString());
        Assert.Equal(pushed.GetProperty("id").GetString(), data.GetProperty("id").GetString());
        var target = data.GetProperty("target");
        Assert.Equal(OciTestClient.OciManifest, target.GetProperty("mediaType").GetString());
        Assert.Equal(manifest.Length, target.GetProperty("size").GetInt64());
        Assert.Equal(repo, target.GetProperty("repository").GetString());
        Assert.Equal("v1", target.GetProperty("tag").GetString());
        Assert.Equal("PUT", data.GetProperty("request").GetProperty("method").GetString());
        Assert.Equal(_registry.BaseAddress.Authority, data.GetProperty("request").GetProperty("host").GetString());
        Assert.Equal(RegistryFixture.AdminName, data.GetProperty("actor").GetProperty("name").GetString());

        var delivery = _receiver.Deliveries.First(d => d.Events.Any(e => Digest(e) == digest));
        Assert.Equal(WebhookSink.Sign(delivery.Body, Secret), delivery.Headers[WebhookSink.SignatureHeader]);
        Assert.StartsWith("application/cloudevents-batch+json", delivery.Headers["Content-Type"], StringComparison.Ordinal);
        var text = Encoding.UTF8.GetString(delivery.Body);
        Assert.DoesNotContain(RegistryFixture.AdminPassword, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteAndUntag_ArriveAsImageDeleted_AfterThePush_InCommitOrder()
    {
        var repo = RegistryFixture.NewRepository("events");
        var manifest = await _oci.PushImageAsync(repo, "v1");
        await _oci.PutManifestAsync(repo, "v2", manifest);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repo}/manifests/v2")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(manifest)}")).StatusCode);

        var events = (await _receiver.WaitForAsync(all => all.Count(e => Repository(e) == repo) >= 4)).Where(e => Repository(e) == repo).ToList();
        Assert.Equal(
            [(RegistryEvents.ImagePushed, "v1"), (RegistryEvents.ImagePushed, "v2"), (RegistryEvents.ImageDeleted, "v2"), (RegistryEvents.ImageDeleted, null)],
            events.Select(e => (e.GetProperty("type").GetString()!, Tag(e))));
    }

    /// <summary>
    /// A Helm chart (config media type <c>application/vnd.cncf.helm.config.v1+json</c>, as helm push writes it) is a
    /// chart to ACR's subscribers: its push and delete arrive as ChartPushed and ChartDeleted, with the chart's manifest
    /// as target, while an image pushed to the same repository stays ImagePushed.
    /// </summary>
    [Fact]
    public async Task HelmChart_PushAndDelete_ArriveAsChartPushedAndChartDeleted()
    {
        var repo = RegistryFixture.NewRepository("events") + "/demo";
        var config = Encoding.UTF8.GetBytes("{\"name\":\"demo\",\"version\":\"0.1.0\",\"apiVersion\":\"v2\"}");
        var chart = OciTestClient.RandomBytes(2048);
        await _oci.PushBlobAsync(repo, config);
        await _oci.PushBlobAsync(repo, chart);
        var manifest = OciTestClient.ImageManifest(config, [chart], configMediaType: RegistryEvents.HelmConfig);
        var digest = OciTestClient.DigestOf(manifest);
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "0.1.0", manifest)).StatusCode);
        var image = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "image"));
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);

        var events = (await _receiver.WaitForAsync(all => all.Count(e => Repository(e) == repo) >= 3)).Where(e => Repository(e) == repo).ToList();
        Assert.Equal(
            [(RegistryEvents.ChartPushed, digest, "0.1.0"), (RegistryEvents.ImagePushed, image, "image"), (RegistryEvents.ChartDeleted, digest, null)],
            events.Select(e => (e.GetProperty("type").GetString()!, Digest(e), Tag(e))));
        var target = events[0].GetProperty("data").GetProperty("target");
        Assert.Equal(OciTestClient.OciManifest, target.GetProperty("mediaType").GetString());
        Assert.Equal(manifest.Length, target.GetProperty("size").GetInt64());
        Assert.Equal($"{repo}:0.1.0", events[0].GetProperty("subject").GetString());
    }

    /// <summary>
    /// <c>registry-admin events</c> lists what a sink acknowledged, and <c>events replay --to</c> sends the same events
    /// again, in commit order, with the ids and data they were first delivered with (so an idempotent subscriber
    /// ignores them, and one that lost them gets them back as they were).
    /// </summary>
    [Fact]
    public async Task Replay_SendsThePublishedEventsAgain_WithTheirIdsAndData_InCommitOrder()
    {
        // On the registry's own tables, where the CLI looks (this class's other instances have tables of their own).
        await using var onDefaultTables = await ExtraRegistry.StartAsync(registry.Storage,
        [
            "--Jobs:InProcess=false", "--Audit:Enabled=false", $"--Events:Webhooks:0:Url={_receiver.Url}", "--Events:AllowPrivateTargets=true",
        ]);
        using var client = onDefaultTables.OwnerClient();
        var oci = new OciTestClient(client);
        var repo = RegistryFixture.NewRepository("events");
        var manifest = await oci.PushImageAsync(repo, "v1");
        await oci.PutManifestAsync(repo, "v2", manifest);
        Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync($"/v2/{repo}/manifests/v1")).StatusCode);
        var first = (await _receiver.WaitForAsync(all => all.Count(e => Repository(e) == repo) >= 3)).Where(e => Repository(e) == repo).ToList();
        Task<CliRun> AdminAsync(params string[] args) => AdminStorage.RunWithAsync(registry.Storage.ConnectionString, args);

        // A drain moves what a sink acknowledged to sent: before it reads the repository's next events, so once a later
        // change's event arrived in a batch of its own, these three are sent.
        var marker = await oci.PushImageAsync(repo, "marker");
        await _receiver.WaitForAsync(all => all.Any(e => Digest(e) == OciTestClient.DigestOf(marker)));
        var list = await AdminAsync("events", "--since", "1h", "--repo", repo);
        Assert.Equal(0, list.ExitCode);
        foreach (var e in first)
        {
            Assert.True(list.Lines.Any(l => l.Contains(Id(e), StringComparison.Ordinal) && l.Contains("\tpublished\t", StringComparison.Ordinal)),
                $"{Id(e)} is not listed as published:\n{string.Join('\n', list.Lines)}");
        }

        await using var second = await EventReceiver.StartAsync();
        var replay = await AdminAsync("events", "replay", "--since", "1h", "--repo", repo, "--to", second.Url.ToString(), "--allow-private");
        Assert.True(replay.ExitCode == 0, replay.Error);
        // The marker's own event may be sent by now, or still pending: replay sends what is sent.
        var again = second.Accepted.ToList();
        Assert.Equal($"replayed {again.Count} events", replay.Lines[0]);
        Assert.InRange(again.Count, 3, 4);
        Assert.Equal(first.Select(Id), again.Take(3).Select(Id));
        Assert.Equal(first.Select(e => e.GetProperty("type").GetString()), again.Take(3).Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(first.Select(e => e.GetProperty("data").GetRawText()), again.Take(3).Select(e => e.GetProperty("data").GetRawText()));
        Assert.Equal(first.Select(e => e.GetProperty("subject").GetString()), again.Take(3).Select(e => e.GetProperty("subject").GetString()));
    }

    [Fact]
    public async Task SinkFailing_WithServerErrorsAndRetryAfter_GetsTheEventsLater_InOrder_SameIds()
    {
        var repo = RegistryFixture.NewRepository("events");
        _receiver.AnswerNext(503);
        _receiver.AnswerNext(429, "1");
        _receiver.AnswerNext(500);
        var first = await _oci.PushImageAsync(repo, "a");
        var second = await _oci.PushImageAsync(repo, "b");

        var events = (await _receiver.WaitForAsync(all => all.Count(e => Repository(e) == repo) >= 2)).Where(e => Repository(e) == repo).ToList();
        Assert.Equal([OciTestClient.DigestOf(first), OciTestClient.DigestOf(second)], events.Select(Digest).Take(2));
        var refusedIds = _receiver.Deliveries.Take(3).SelectMany(d => d.Events).Where(e => Repository(e) == repo).Select(Id).ToHashSet();
        Assert.Contains(Id(events[0]), refusedIds);
    }

    [Fact]
    public async Task EventTheSinkKeepsRejecting_IsDeadLettered_AndTheNextOnesOfTheRepositoryGoOn()
    {
        var repo = RegistryFixture.NewRepository("events");
        _receiver.RefuseWhere(e => Tag(e) == "poison");
        var poison = await _oci.PushImageAsync(repo, "poison");
        var after = await _oci.PushImageAsync(repo, "after");

        await _receiver.WaitForAsync(all => all.Any(e => Digest(e) == OciTestClient.DigestOf(after)));
        Assert.DoesNotContain(_receiver.Accepted.ToList(), e => Digest(e) == OciTestClient.DigestOf(poison) && Tag(e) == "poison");
        Assert.Equal(3, _receiver.Deliveries.Count(d => d.Events.Count == 1 && Tag(d.Events[0]) == "poison"));
        Assert.True(Registry.Oci.RepositoryName.TryParse(repo, out var name));
        var outbox = _registry.Services.GetRequiredService<Registry.Storage.Events.Outbox>();
        var dead = await outbox.RowsAsync(Registry.Storage.TableKeys.Repository(name), Registry.Storage.TableKeys.DeadPrefix, null, 10, CancellationToken.None);
        Assert.Equal("poison", Assert.Single(dead).Tag);
        // The poison is no longer pending. (The "after" row may be: the sink saw it before its row moved to sent:.)
        Assert.DoesNotContain(await outbox.PendingAsync(name, 10, CancellationToken.None), e => e.Tag == "poison");
    }

    [Fact]
    public async Task CrashBetweenDeliveryAndTheOutboxMove_SendsTheEventAgain_WithTheSameId()
    {
        var repo = RegistryFixture.NewRepository("events");
        _gate.FailWhile(request => StorageGate.IsBatchWith(request, "sent%3A"));
        // The drain gives its lease up once the move failed for good (retries included): only then does the process "restart".
        _gate.HoldAfter(request => StorageGate.IsEntityDelete(request, Registry.Storage.TableKeys.EventLeaseRow));
        var manifest = await _oci.PushImageAsync(repo, "v1");
        var digest = OciTestClient.DigestOf(manifest);
        await _receiver.WaitForAsync(all => all.Any(e => Digest(e) == digest));
        await _gate.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        _gate.StopFailing();
        _gate.Release();

        await _registry.Services.GetServices<IScheduledJob>().Single(j => j.Name == "events").RunAsync(CancellationToken.None);
        var events = await _receiver.WaitForAsync(all => all.Count(e => Digest(e) == digest) >= 2);
        var ids = events.Where(e => Digest(e) == digest).Select(Id).Distinct().ToList();
        Assert.Single(ids);
    }

    [Fact]
    public async Task SinkDown_PushesAndPullsGoOn_TheSweepCountsTheBacklog_AndDeliversItOnceTheSinkIsBack()
    {
        var repo = RegistryFixture.NewRepository("events");
        byte[] manifest;
        // An instance whose sink is unreachable: pushes and pulls are answered, and the events wait in the outbox.
        await using (var down = await StartAsync(new Uri("http://127.0.0.1:9/hook")))
        {
            using var client = down.OwnerClient();
            manifest = await new OciTestClient(client).PushImageAsync(repo, "v1");
            Assert.Equal(manifest, await client.GetByteArrayAsync($"/v2/{repo}/manifests/v1"));
            var report = await down.Services.GetServices<IScheduledJob>().Single(j => j.Name == "events").RunAsync(CancellationToken.None);
            Assert.Matches(@"[1-9]\d* events pending", report.Summary);
        }

        // The sink is back (the same tables, swept by the instance whose sink answers).
        await _registry.Services.GetServices<IScheduledJob>().Single(j => j.Name == "events").RunAsync(CancellationToken.None);
        await _receiver.WaitForAsync(all => all.Any(e => Digest(e) == OciTestClient.DigestOf(manifest)));
    }

    [Fact]
    public async Task DrainStoppedWhileStorageGrantsItsLease_GivesTheLeaseUp_SoTheNextDrainDeliversAtOnce()
    {
        var repo = RegistryFixture.NewRepository("events");
        bool IsLease(Azure.Core.Request request) => StorageGate.IsEntityWrite(request, "lease:events");
        byte[] manifest;
        await using (var pusher = await StartWithoutSinkAsync())
        {
            manifest = await new OciTestClient(pusher.OwnerClient()).PushImageAsync(repo, "v1");
        }

        var dispatcher = _registry.Services.GetRequiredService<EventDispatcher>();
        Assert.True(Registry.Oci.RepositoryName.TryParse(repo, out var name));
        using var stop = new CancellationTokenSource();
        _gate.HoldAfter(IsLease);
        var drain = dispatcher.DrainAsync(name, stop.Token);
        await _gate.Reached;
        stop.Cancel(); // the instance stops after storage granted the lease, before the drain heard of it
        _gate.Release();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => drain);

        Assert.Equal(DrainResult.Drained, await dispatcher.DrainAsync(name, CancellationToken.None));
        await _receiver.WaitForAsync(all => all.Any(e => Digest(e) == OciTestClient.DigestOf(manifest)));
    }

    [Fact]
    public async Task TwoInstancesSweepingAtOnce_DeliverEveryEvent_NoneLost()
    {
        var repo = RegistryFixture.NewRepository("events");
        // Pushed through an instance that publishes nothing: the events wait in the outbox.
        await using (var pusher = await StartWithoutSinkAsync())
        {
            var oci = new OciTestClient(pusher.OwnerClient());
            for (var i = 0; i < 5; i++)
            {
                await oci.PushImageAsync(repo, $"v{i}");
            }
        }
        await using var other = await StartAsync(_receiver.Url);
        IScheduledJob Sweep(ExtraRegistry instance) => instance.Services.GetServices<IScheduledJob>().Single(j => j.Name == "events");
        await Task.WhenAll(Sweep(_registry).RunAsync(CancellationToken.None), Sweep(other).RunAsync(CancellationToken.None));
        await Sweep(_registry).RunAsync(CancellationToken.None);

        var events = await _receiver.WaitForAsync(all => Enumerable.Range(0, 5).All(i => all.Any(e => Repository(e) == repo && Tag(e) == $"v{i}")));
        var ours = events.Where(e => Repository(e) == repo).ToList();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"v{i}"), ours.Select(Tag).Distinct());
        Assert.All(ours.GroupBy(Tag), group => Assert.Single(group.Select(Id).Distinct()));
    }

    [Fact]
    public async Task EventGridTopic_ReceivesTheSameEvents_ThroughThePublisherClient()
    {
        var topic = new Uri(_receiver.Url, "/api/events");
        await using var instance = await ExtraRegistry.StartAsync(registry.Storage,
        [
            $"--Storage:RepositoriesTable=evrepos{_suffix}", $"--Storage:BlobsTable=evblobs{_suffix}", $"--Storage:BlobContainer=ev{_suffix}",
            "--Jobs:InProcess=false", "--Audit:Enabled=false", "--Events:AllowPrivateTargets=true",
            $"--Events:TopicEndpoint={topic}", "--Events:TopicKey=a-test-key",
        ]);
        var repo = RegistryFixture.NewRepository("events");
        var manifest = await new OciTestClient(instance.OwnerClient()).PushImageAsync(repo, "grid");

        var events = await _receiver.WaitForAsync(all => all.Any(e => Digest(e) == OciTestClient.DigestOf(manifest)));
        Assert.Equal(RegistryEvents.ImagePushed, events.First(e => Digest(e) == OciTestClient.DigestOf(manifest)).GetProperty("type").GetString());
        var delivery = _receiver.Deliveries.Last(d => d.Events.Any(e => Digest(e) == OciTestClient.DigestOf(manifest)));
        Assert.Equal("a-test-key", delivery.Headers["aeg-sas-key"]);
    }

    [Fact]
    public async Task InternalWebhookTargets_AreRefusedAtStart_AndAtConnectTime()
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => ExtraRegistry.StartAsync(
            registry.Storage, ["--Events:Webhooks:0:Url=http://169.254.169.254/latest", "--Jobs:InProcess=false"]));
        Assert.Contains("Events:Webhooks:0:Url", failure.Message, StringComparison.Ordinal);

        using var sink = new WebhookSink(new WebhookOptions { Url = new Uri($"http://localhost:{_receiver.Url.Port}/hook") }, allowInternal: false, TimeSpan.FromSeconds(5));
        var before = _receiver.Deliveries.Count;
        var delivery = await sink.SendAsync("[]"u8.ToArray(), CancellationToken.None);
        Assert.Equal(DeliveryOutcome.RetryLater, delivery.Outcome);
        Assert.Contains("internal", delivery.Error, StringComparison.Ordinal);
        Assert.Equal(before, _receiver.Deliveries.Count);
    }

    private Task<ExtraRegistry> StartAsync(Uri hook, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null) =>
        ExtraRegistry.StartAsync(registry.Storage,
        [
            $"--Storage:RepositoriesTable=evrepos{_suffix}", $"--Storage:BlobsTable=evblobs{_suffix}", $"--Storage:BlobContainer=ev{_suffix}",
            "--Jobs:InProcess=false", "--Audit:Enabled=false",
            $"--Events:Webhooks:0:Url={hook}", $"--Events:Webhooks:0:Secret={Secret}", "--Events:AllowPrivateTargets=true",
            "--Events:RetryBase=00:00:00.050", "--Events:RetryMax=00:00:00.500", "--Events:MaxAttempts=3", "--Events:SendTimeout=00:00:02",
        ], configure);

    /// <summary>An instance on the same tables with no sink: what it pushes waits in the outbox, and no drain of its own races the test's.</summary>
    private Task<ExtraRegistry> StartWithoutSinkAsync() =>
        ExtraRegistry.StartAsync(registry.Storage,
        [
            $"--Storage:RepositoriesTable=evrepos{_suffix}", $"--Storage:BlobsTable=evblobs{_suffix}", $"--Storage:BlobContainer=ev{_suffix}",
            "--Jobs:InProcess=false", "--Audit:Enabled=false",
        ]);

    private static string? Digest(JsonElement e) => e.GetProperty("data").GetProperty("target").GetProperty("digest").GetString();

    private static string? Repository(JsonElement e) => e.GetProperty("data").GetProperty("target").GetProperty("repository").GetString();

    private static string? Tag(JsonElement e) => e.GetProperty("data").GetProperty("target").TryGetProperty("tag", out var t) ? t.GetString() : null;

    private static string Id(JsonElement e) => e.GetProperty("id").GetString()!;
}
