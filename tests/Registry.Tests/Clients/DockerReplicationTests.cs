using Registry.Tests.Fixtures;
using Registry.Tests.Replication;

namespace Registry.Tests.Clients;

/// <summary>
/// Geo-replication as a user sees it, with a real docker: an image pushed to the primary reaches the replica through
/// the primary's events (its webhook delivery to the replica's <c>/_replication/events</c>, the standalone form of the
/// Event Grid → queue → <c>replicate</c> path), and once the primary is stopped, <c>docker pull</c> from the replica gets
/// the same digest, with every call of the replica to the primary's storage failing: all of it from the replica's own.
/// A docker push to the replica is forwarded to the primary, request by request, and comes back by replication.
/// </summary>
[Collection(RealClientsGroup.Name)]
public sealed class DockerReplicationTests
{
    private static readonly TimeSpan ReplicationDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DockerPush_ToThePrimary_ThenPrimaryStopped_DockerPullFromTheReplica_GetsTheSameDigest()
    {
        await using var pair = await ReplicatedPair.StartAsync(eventSecret: "replication-test-secret");
        var docker = await DockerEngine.StartAsync();
        var primary = pair.Primary.BaseAddress.Authority;
        var replica = pair.Replica.BaseAddress.Authority;
        await docker.LoginAsync(primary);
        await docker.LoginAsync(replica);
        await docker.BuildSmallImageAsync($"{primary}/geo/app:1.0");
        var digest = await docker.PushAsync($"{primary}/geo/app:1.0");

        await WaitUntilReplicatedAsync(pair, "geo/app", "1.0", digest);
        await pair.StopPrimaryAsync();

        await docker.Docker("rmi", $"{primary}/geo/app:1.0");
        await docker.Docker("pull", $"{replica}/geo/app:1.0");
        Assert.Equal(digest, await docker.RepoDigestAsync($"{replica}/geo/app:1.0"));
    }

    [Fact]
    public async Task DockerPush_ToTheReplica_IsForwardedToThePrimary_AndReplicatedBack()
    {
        await using var pair = await ReplicatedPair.StartAsync(eventSecret: "replication-test-secret");
        var docker = await DockerEngine.StartAsync();
        var replica = pair.Replica.BaseAddress.Authority;
        await docker.LoginAsync(replica);
        await docker.BuildSmallImageAsync($"{replica}/geo/pushed-here:1.0");

        var digest = await docker.PushAsync($"{replica}/geo/pushed-here:1.0");

        using var primary = pair.Primary.OwnerClient();
        using var head = new HttpRequestMessage(HttpMethod.Head, "/v2/geo/pushed-here/manifests/1.0");
        head.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
        head.Headers.Accept.ParseAdd(OciTestClient.OciManifest);
        using var atPrimary = await primary.SendAsync(head);
        Assert.Equal(System.Net.HttpStatusCode.OK, atPrimary.StatusCode);
        Assert.Equal(digest, atPrimary.Headers.GetValues("Docker-Content-Digest").Single());
        await WaitUntilReplicatedAsync(pair, "geo/pushed-here", "1.0", digest);
    }

    /// <summary>
    /// Polls the replica's own storage (bounded; a pull would be answered from the primary before replication ran): the
    /// delivery is asynchronous, so this waits for its outcome, not for a race.
    /// </summary>
    private static async Task WaitUntilReplicatedAsync(ReplicatedPair pair, string repository, string tag, string digest)
    {
        var deadline = DateTime.UtcNow + ReplicationDeadline;
        while (await pair.ReplicaTagAsync(repository, tag) != digest)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{repository}:{tag} not replicated within {ReplicationDeadline}");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }
}
