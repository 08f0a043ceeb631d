using System.Net;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Replication;
using Registry.Storage.Manifests;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;
using Registry.Tests.Lifecycle;

namespace Registry.Tests.Replication;

/// <summary>
/// The primary's events applied to a replica (<see cref="ImageReplicator"/>, called as the <c>replicate</c> function
/// calls it): the image is served from the replica's own account, the same event twice writes nothing new, events in
/// any order or racing a move of the tag leave the replica's tag at the primary's, and what the primary deleted
/// meanwhile is skipped without an error loop.
/// </summary>
public sealed class ReplicationTests : IAsyncLifetime
{
    private ReplicatedPair _pair = null!;
    private OciTestClient _primary = null!;
    private OciTestClient _replica = null!;

    public async Task InitializeAsync()
    {
        _pair = await ReplicatedPair.StartAsync();
        _primary = new OciTestClient(_pair.Primary.OwnerClient());
        _replica = new OciTestClient(_pair.Replica.OwnerClient());
    }

    public async Task DisposeAsync() => await _pair.DisposeAsync();

    private ImageReplicator Replicator => _pair.Replica.Services.GetRequiredService<ImageReplicator>();

    private static ReplicationEvent Pushed(string repository, byte[] manifest, string? tag) =>
        new(Guid.NewGuid().ToString("N"), false, Name(repository), DigestOf(OciTestClient.DigestOf(manifest)), tag is null ? null : TagOf(tag));

    private static Digest DigestOf(string text) => Digest.TryParse(text, out var digest) == DigestParse.Valid ? digest : throw new ArgumentException(text);

    private static RepositoryName Name(string repository) => RepositoryName.TryParse(repository, out var name) ? name : throw new ArgumentException(repository);

    private static Tag TagOf(string tag) => Tag.TryParse(tag, out var parsed) ? parsed : throw new ArgumentException(tag);

    private Task<string?> ReplicaTagAsync(string repository, string tag) => _pair.ReplicaTagAsync(repository, tag);

    /// <summary>Whether the replica's own storage has the manifest.</summary>
    private async Task<bool> ReplicaHasAsync(string repository, byte[] manifest) =>
        await _pair.Replica.Services.GetRequiredService<ManifestStore>().FindByDigestAsync(
            Name(repository), DigestOf(OciTestClient.DigestOf(manifest)), withContent: false, CancellationToken.None) is not null;

    /// <summary>Pushes a config, <paramref name="layer"/> and their manifest as <c>:v1</c> to the primary; returns the manifest.</summary>
    private async Task<byte[]> PushToPrimaryAsync(string repository, byte[] layer)
    {
        var config = System.Text.Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"layer\":\"{OciTestClient.DigestOf(layer)}\"}}");
        await _primary.PushBlobAsync(repository, config);
        await _primary.PushBlobAsync(repository, layer);
        var manifest = OciTestClient.ImageManifest(config, [layer]);
        Assert.Equal(HttpStatusCode.Created, (await _primary.PutManifestAsync(repository, "v1", manifest)).StatusCode);
        return manifest;
    }

    /// <summary>The manifest bytes the replica serves for <paramref name="reference"/> (the test fails on anything but a 200).</summary>
    private async Task<byte[]> ReplicaManifestAsync(string repository, string reference)
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/manifests/{reference}");
        get.Headers.Accept.ParseAdd(OciTestClient.OciManifest);
        using var served = await _replica.Http.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        return await served.Content.ReadAsByteArrayAsync();
    }

    [Fact]
    public async Task PushedImage_IsServedByTheReplica_FromItsOwnAccount_ByteForByte()
    {
        var repo = RegistryFixture.NewRepository();
        var layer = OciTestClient.RandomBytes(300_000);
        var manifest = await PushToPrimaryAsync(repo, layer);

        var result = await Replicator.ApplyAsync(Pushed(repo, manifest, "v1"), CancellationToken.None);

        Assert.Equal((1, 2, 0), (result.ManifestsWritten, result.BlobsCopied, result.BlobsLinked));
        Assert.Empty(result.Skipped);
        Assert.Equal(manifest, await ReplicaManifestAsync(repo, "v1"));

        using var blob = await _replica.Http.GetAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, blob.StatusCode);
        var location = blob.Headers.Location!;
        Assert.StartsWith($"/{ReplicatedPair.ReplicaAccount}/", location.AbsolutePath, StringComparison.Ordinal);
        using var plain = new HttpClient();
        Assert.Equal(layer, await plain.GetByteArrayAsync(location));
    }

    [Fact]
    public async Task SameEventTwice_WritesNothingTheSecondTime_AndASecondRepositoryLinksTheCopiedBytes()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _primary.PushImageAsync(repo, "v1");
        var change = Pushed(repo, manifest, "v1");
        await Replicator.ApplyAsync(change, CancellationToken.None);

        var again = await Replicator.ApplyAsync(change, CancellationToken.None);

        Assert.Equal((0, 0, 0), (again.ManifestsWritten, again.BlobsCopied, again.BlobsLinked));
        Assert.Single(await TagHistory.GetAsync(_replica.Http, repo, "v1"));

        // The same image in another repository of the primary: the replica holds the bytes and only links them.
        var other = RegistryFixture.NewRepository();
        var document = System.Text.Json.Nodes.JsonNode.Parse(manifest)!;
        foreach (var digest in new[] { (string)document["config"]!["digest"]!, (string)document["layers"]![0]!["digest"]! })
        {
            var mount = await _primary.Http.PostAsync($"/v2/{other}/blobs/uploads/?mount={digest}&from={repo}", null);
            Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        }
        Assert.Equal(HttpStatusCode.Created, (await _primary.PutManifestAsync(other, "v1", manifest)).StatusCode);
        var linked = await Replicator.ApplyAsync(Pushed(other, manifest, "v1"), CancellationToken.None);
        Assert.Equal((1, 0, 2), (linked.ManifestsWritten, linked.BlobsCopied, linked.BlobsLinked));
        Assert.Equal(OciTestClient.DigestOf(manifest), await ReplicaTagAsync(other, "v1"));
    }

    [Fact]
    public async Task EventsAppliedOutOfOrder_NeverMoveTheTagBack()
    {
        var repo = RegistryFixture.NewRepository();
        var first = await _primary.PushImageAsync(repo, "app");
        var second = await _primary.PushImageAsync(repo, "app");

        await Replicator.ApplyAsync(Pushed(repo, second, "app"), CancellationToken.None);
        var late = await Replicator.ApplyAsync(Pushed(repo, first, "app"), CancellationToken.None);

        Assert.Equal(OciTestClient.DigestOf(second), await ReplicaTagAsync(repo, "app"));
        Assert.Equal(1, late.ManifestsWritten); // the first image, by digest: pullable as at the primary
        Assert.True(await ReplicaHasAsync(repo, first));
    }

    [Fact]
    public async Task TagMovedAtThePrimaryWhileTheReplicaWritesIt_EndsAtThePrimarysNewTarget()
    {
        var repo = RegistryFixture.NewRepository();
        var first = await _primary.PushImageAsync(repo, "app");
        var second = await _primary.PushImageAsync(repo, "next");

        // The replica read the primary's tag (first) and is held just before its tag move commits; the primary moves on.
        _pair.Gate.HoldBefore(request => StorageGate.IsBatchWith(request, "taghistory:app:"));
        var apply = Replicator.ApplyAsync(Pushed(repo, first, "app"), CancellationToken.None);
        await _pair.Gate.Reached;
        Assert.Equal(HttpStatusCode.Created, (await _primary.PutManifestAsync(repo, "app", second)).StatusCode);
        _pair.Gate.Release();
        var result = await apply;

        Assert.Equal(OciTestClient.DigestOf(second), await ReplicaTagAsync(repo, "app"));
        Assert.Equal(2, result.ManifestsWritten);
        var moves = await TagHistory.GetAsync(_replica.Http, repo, "app");
        Assert.Equal([OciTestClient.DigestOf(second), OciTestClient.DigestOf(first)], moves.Select(m => m.Digest));
    }

    [Fact]
    public async Task DeletesAtThePrimary_AreAppliedInEitherOrder_AndAPushOfWhatIsGoneIsSkipped()
    {
        var repo = RegistryFixture.NewRepository();
        var kept = await _primary.PushImageAsync(repo, "kept");
        var gone = await _primary.PushImageAsync(repo, "gone");
        await Replicator.ApplyAsync(Pushed(repo, kept, "kept"), CancellationToken.None);
        await Replicator.ApplyAsync(Pushed(repo, gone, "gone"), CancellationToken.None);
        var goneDigest = OciTestClient.DigestOf(gone);

        Assert.Equal(HttpStatusCode.Accepted, (await _primary.Http.DeleteAsync($"/v2/{repo}/manifests/{goneDigest}")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _primary.Http.DeleteAsync($"/v2/{repo}/manifests/kept")).StatusCode);
        var deleted = await Replicator.ApplyAsync(
            new ReplicationEvent("d1", true, Name(repo), DigestOf(goneDigest), null), CancellationToken.None);
        var untagged = await Replicator.ApplyAsync(
            new ReplicationEvent("d2", true, Name(repo), DigestOf(OciTestClient.DigestOf(kept)), TagOf("kept")), CancellationToken.None);
        var latePush = await Replicator.ApplyAsync(Pushed(repo, gone, "gone"), CancellationToken.None);

        Assert.Equal(1, deleted.ManifestsDeleted);
        Assert.Equal(1, untagged.TagsRemoved);
        Assert.Null(await ReplicaTagAsync(repo, "gone"));
        Assert.Null(await ReplicaTagAsync(repo, "kept"));
        Assert.Equal(0, latePush.ManifestsWritten);
        Assert.Contains(latePush.Skipped, s => s.Contains("gone at the primary", StringComparison.Ordinal));
        // Untagged at the primary, the manifest itself stays there and here.
        Assert.True(await ReplicaHasAsync(repo, kept));
        Assert.False(await ReplicaHasAsync(repo, gone));
    }

    [Fact]
    public async Task LayerDeletedAtThePrimaryBeforeItsCopyRan_IsSkipped_AndNothingIsWritten()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _primary.PushImageAsync(repo, "v1");
        var layer = (string)System.Text.Json.Nodes.JsonNode.Parse(manifest)!["layers"]![0]!["digest"]!;
        Assert.Equal(HttpStatusCode.Accepted, (await _primary.Http.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(manifest)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _primary.Http.DeleteAsync($"/v2/{repo}/blobs/{layer}")).StatusCode);

        var result = await Replicator.ApplyAsync(Pushed(repo, manifest, "v1"), CancellationToken.None);

        Assert.Equal(0, result.ManifestsWritten);
        Assert.NotEmpty(result.Skipped);
        Assert.Equal(HttpStatusCode.NotFound, (await _replica.Http.GetAsync($"/v2/{repo}/blobs/{layer}")).StatusCode);
    }

    [Fact]
    public async Task WritesToTheReplica_AreForwardedToThePrimary_WithTheClientsToken_AndLandThere()
    {
        var repo = RegistryFixture.NewRepository();

        // Uploads (POST, PATCH, PUT), the manifest PUT and the DELETE all through the replica, logged in there.
        var manifest = await _replica.PushImageAsync(repo, "v1");

        var atPrimary = await _primary.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/v1", configure: r => r.Headers.Accept.ParseAdd(OciTestClient.OciManifest));
        Assert.Equal(HttpStatusCode.OK, atPrimary.StatusCode);
        Assert.Equal(OciTestClient.DigestOf(manifest), atPrimary.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.False(await ReplicaHasAsync(repo, manifest)); // the replica's storage is replication's alone
        Assert.Equal(HttpStatusCode.Accepted, (await _replica.Http.DeleteAsync($"/v2/{repo}/manifests/v1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _primary.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/v1",
            configure: r => r.Headers.Accept.ParseAdd(OciTestClient.OciManifest))).StatusCode);
        // A refusal is the primary's own: an unknown upload session.
        await OciTestClient.AssertErrorAsync(
            await _replica.Http.PatchAsync($"/v2/{repo}/blobs/uploads/{Guid.NewGuid():N}", new ByteArrayContent([1, 2, 3])), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task WritesToTheReplica_WhileThePrimaryIsDown_Are503WithRetryAfter()
    {
        var repo = RegistryFixture.NewRepository();
        await _replica.Http.GetAsync("/v2/"); // logged in before the primary goes
        await _pair.StopPrimaryAsync();

        var upload = await _replica.Http.PostAsync($"/v2/{repo}/blobs/uploads/", null);

        await OciTestClient.AssertErrorAsync(upload, HttpStatusCode.ServiceUnavailable, "UNAVAILABLE");
        Assert.NotNull(upload.Headers.RetryAfter);
        Assert.Contains("primary", await upload.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WritesToAReplicaThatKnowsNoPrimaryUrl_Are405()
    {
        await using var lone = await ExtraRegistry.StartAsync(_pair.Storage,
        [
            "--Jobs:InProcess=false", $"--Storage:ConnectionString={_pair.Storage.ConnectionStringOf(ReplicatedPair.ReplicaAccount)}",
            $"--Replication:Primary:ConnectionString={_pair.Storage.ConnectionString}",
        ]);
        using var client = lone.OwnerClient();
        var upload = await client.PostAsync($"/v2/{RegistryFixture.NewRepository()}/blobs/uploads/", null);
        await OciTestClient.AssertErrorAsync(upload, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
        Assert.Contains("read replica", await upload.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PullFromTheReplica_BeforeReplicationRan_IsAnsweredFromThePrimary_AndCounted()
    {
        var repo = RegistryFixture.NewRepository();
        var layer = OciTestClient.RandomBytes(5000);
        var manifest = await PushToPrimaryAsync(repo, layer);
        var fallbacks = new List<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "registry.replica.fallbacks")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            lock (fallbacks)
            {
                fallbacks.Add((string)tags.ToArray().Single(t => t.Key == "kind").Value!);
            }
        });
        listener.Start();

        Assert.Equal(manifest, await ReplicaManifestAsync(repo, "v1"));
        using var head = await _replica.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}");
        Assert.Equal((HttpStatusCode.OK, 5000L), (head.StatusCode, head.Content.Headers.ContentLength));
        using var blob = await _replica.Http.GetAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, blob.StatusCode);
        Assert.StartsWith($"/{Azurite.DefaultAccount}/", blob.Headers.Location!.AbsolutePath, StringComparison.Ordinal);
        using var plain = new HttpClient();
        Assert.Equal(layer, await plain.GetByteArrayAsync(blob.Headers.Location));
        // What neither region has is still a 404, and no fallback.
        await OciTestClient.AssertErrorAsync(await _replica.Http.GetAsync($"/v2/{repo}/manifests/nothing"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await OciTestClient.AssertErrorAsync(
            await _replica.Http.GetAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(OciTestClient.RandomBytes(10))}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        listener.Dispose();

        lock (fallbacks)
        {
            Assert.Equal(["manifest", "blob", "blob"], fallbacks);
        }
    }

    [Fact]
    public async Task Verify_ListsWhatTheReplicaMissesOrKeepsTooLong_AndRepairMakesItThePrimarys()
    {
        var repo = RegistryFixture.NewRepository();
        var stale = await _primary.PushImageAsync(repo, "stale");
        await Replicator.ApplyAsync(Pushed(repo, stale, "stale"), CancellationToken.None);
        Assert.Equal(HttpStatusCode.Accepted, (await _primary.Http.DeleteAsync($"/v2/{repo}/manifests/{OciTestClient.DigestOf(stale)}")).StatusCode);
        var missed = await _primary.PushImageAsync(repo, "missed");
        var replica = _pair.Storage.ConnectionStringOf(ReplicatedPair.ReplicaAccount);
        string[] verify = ["replication", "verify", "--primary", _pair.Storage.ConnectionString];

        var found = await AdminStorage.RunWithAsync(replica, verify);

        Assert.True(found.ExitCode == 3, found.Error);
        Assert.Equal("kind\treference\tdetail", found.Lines[0]);
        var kinds = found.Lines.Skip(1).Where(l => l.Contains(repo, StringComparison.Ordinal)).Select(l => l.Split('\t')[0]).Order(StringComparer.Ordinal);
        Assert.Equal(["extra-manifest", "extra-tag", "missing-manifest", "missing-tag"], kinds);

        var repair = await AdminStorage.RunWithAsync(replica, [.. verify, "--repair"]);
        Assert.True(repair.ExitCode == 0, repair.Error);
        Assert.Contains("after the repair: ", repair.Error, StringComparison.Ordinal);
        Assert.Equal(OciTestClient.DigestOf(missed), await ReplicaTagAsync(repo, "missed"));
        Assert.Null(await ReplicaTagAsync(repo, "stale"));
        Assert.Equal(0, (await AdminStorage.RunWithAsync(replica, verify)).ExitCode);
        Assert.Equal(1, (await AdminStorage.RunWithAsync(replica, "replication", "verify")).ExitCode); // no primary named
    }

    [Fact]
    public async Task Status_CountsWhatThePrimaryHasNotDelivered_ItsAge_AndTheDifferences()
    {
        var repo = RegistryFixture.NewRepository();
        await _primary.PushImageAsync(repo, "v1");
        var second = await _primary.PushImageAsync(repo, "v2");
        await Replicator.ApplyAsync(Pushed(repo, second, "v2"), CancellationToken.None);

        var status = await AdminStorage.RunWithAsync(_pair.Storage.ConnectionStringOf(ReplicatedPair.ReplicaAccount),
            "replication", "status", "--primary", _pair.Storage.ConnectionString);

        Assert.True(status.ExitCode == 0, status.Error);
        var figures = status.Lines.Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
        // This primary has no sink, so both push events are still in its outbox; the replica lacks the first image.
        Assert.Equal("2", figures["pending-events"]);
        Assert.NotEqual("-", figures["oldest-pending"]);
        Assert.True(int.Parse(figures["lag-seconds"], System.Globalization.CultureInfo.InvariantCulture) >= 0);
        Assert.Equal("0", figures["dead-events"]);
        Assert.Equal(("1", "1", "0"), (figures["missing-manifest"], figures["missing-tag"], figures["extra-tag"]));
    }

    [Fact]
    public async Task Status_CountsTheReplicasQueueAndPoisonQueue_AndTheOldestMessagesTime()
    {
        var replica = _pair.Storage.ConnectionStringOf(ReplicatedPair.ReplicaAccount);
        var queues = new QueueServiceClient(replica);
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var queue = (await queues.CreateQueueAsync(ReplicationQueueReader.QueueName)).Value;
        foreach (var n in Enumerable.Range(0, 3))
        {
            await queue.SendMessageAsync($"{{\"id\":\"{n}\"}}");
        }
        await (await queues.CreateQueueAsync(ReplicationQueueReader.PoisonQueueName)).Value.SendMessageAsync("{}");

        var status = await AdminStorage.RunWithAsync(replica, "replication", "status", "--primary", _pair.Storage.ConnectionString);

        Assert.True(status.ExitCode == 0, status.Error);
        var figures = status.Lines.Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
        Assert.Equal(("3", "1"), (figures["queue-pending"], figures["queue-poison"]));
        var oldest = DateTimeOffset.Parse(figures["queue-oldest"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(oldest, before, DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.True(int.Parse(figures["queue-age-seconds"], System.Globalization.CultureInfo.InvariantCulture) >= 0);
        Assert.Contains("replication verify --repair", status.Error, StringComparison.Ordinal);
        // Peeked, not received: every message is still there for the replicate function.
        Assert.Equal(3, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Equal(3, (await queue.ReceiveMessagesAsync(maxMessages: 10)).Value.Length);
    }

    [Fact]
    public async Task Status_WithoutAReplicationQueue_SaysTheQueueIsNotUsed()
    {
        var status = await AdminStorage.RunWithAsync(_pair.Storage.ConnectionStringOf(ReplicatedPair.ReplicaAccount),
            "replication", "status", "--primary", _pair.Storage.ConnectionString);

        Assert.True(status.ExitCode == 0, status.Error);
        var figures = status.Lines.Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
        Assert.All(new[] { "queue-pending", "queue-poison", "queue-age-seconds", "queue-oldest" }, key => Assert.Equal("not-used", figures[key]));
        Assert.Contains("'replication' queue is not used here: this account has none", status.Error, StringComparison.Ordinal);
        Assert.Equal("0", figures["dead-events"]);
    }

    [Fact]
    public async Task EventRowsReplicationWrote_AreSettledByTheReplicasSweep_WhenItHasNoSink()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _primary.PushImageAsync(repo, "v1");
        await Replicator.ApplyAsync(Pushed(repo, manifest, "v1"), CancellationToken.None);
        var outbox = _pair.Replica.Services.GetRequiredService<Registry.Storage.Events.Outbox>();
        Assert.Single(await outbox.PendingAsync(Name(repo), 10, CancellationToken.None));

        var sweep = await _pair.Replica.Services.GetServices<Registry.Jobs.IScheduledJob>().Single(j => j.Name == "events").RunAsync(CancellationToken.None);

        Assert.Equal("completed", sweep.Status);
        Assert.StartsWith("a replica with no event sink: 1 events", sweep.Summary, StringComparison.Ordinal);
        Assert.Empty(await outbox.PendingAsync(Name(repo), 10, CancellationToken.None));
    }
}
