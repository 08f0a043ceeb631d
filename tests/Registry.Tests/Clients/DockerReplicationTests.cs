using System.Net;
using Registry.Tests.Fixtures;
using Registry.Tests.Replication;

namespace Registry.Tests.Clients;

/// <summary>
/// Geo-replication as a user sees it, with a real docker: an image pushed to the primary reaches the replica through
/// the primary's events (its webhook delivery to the replica's <c>/_replication/events</c>, the standalone form of the
/// Event Grid → queue → <c>replicate</c> path), and once the primary is stopped, <c>docker pull</c> from the replica gets
/// the same digest, its layers from the replica's own account.
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

    /// <summary>Polls the replica (bounded): the delivery is asynchronous, so this waits for its outcome, not for a race.</summary>
    private static async Task WaitUntilReplicatedAsync(ReplicatedPair pair, string repository, string tag, string digest)
    {
        using var client = pair.Replica.OwnerClient();
        var deadline = DateTime.UtcNow + ReplicationDeadline;
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/manifests/{tag}");
            request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
            request.Headers.Accept.ParseAdd(OciTestClient.OciManifest);
            using var response = await client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.OK && response.Headers.GetValues("Docker-Content-Digest").Single() == digest)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{repository}:{tag} not replicated within {ReplicationDeadline} (last answer {(int)response.StatusCode})");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }
}
