using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Registry.Retention;
using Registry.Storage.Policies;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Lifecycle;

/// <summary>
/// Soft delete and <c>registry-admin restore</c>, on the fixture's storage and its default 7-day window: a tag deleted by
/// a client, a manifest deleted by digest (with its tags) and what a retention run deleted come back, as audited moves;
/// <c>registry-admin deleted</c> lists them. Restore refuses with exit code 1 and one <c>error:</c> line what was never
/// deleted, what was deleted longer ago than the window (deleted by an instance whose clock is 8 days behind), and a tag
/// that now points elsewhere, which <c>--force</c> moves back unless it is locked or immutable. Garbage collection's side
/// is in <c>Collection/SoftDeleteCollectionTests</c>.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class SoftDeleteTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly OciTestClient _oci = new(registry.Client);
    private readonly ManualClock _earlier = new(DateTimeOffset.UtcNow.AddDays(-8));
    private readonly ManualClock _later = new(DateTimeOffset.UtcNow.AddDays(40));
    private ExtraRegistry _past = null!;
    private ExtraRegistry _future = null!;

    public async Task InitializeAsync()
    {
        _past = await ExtraRegistry.StartAsync(registry.Storage, ["--Audit:Enabled=false", "--Jobs:InProcess=false"],
            builder => builder.Services.AddSingleton<TimeProvider>(_earlier));
        _future = await ExtraRegistry.StartAsync(registry.Storage, ["--Audit:Enabled=false", "--Jobs:InProcess=false"],
            builder => builder.Services.AddSingleton<TimeProvider>(_later));
    }

    public async Task DisposeAsync()
    {
        await _past.DisposeAsync();
        await _future.DisposeAsync();
    }

    private Task<CliRun> AdminAsync(params string[] args) => AdminStorage.RunWithAsync(registry.Storage.ConnectionString, args);

    private static string User => "cli:" + Environment.UserName;

    [Fact]
    public async Task TagDeletedByAClient_IsListed_AndRestored_AsARestoreMoveInItsHistory_AndTheAuditLog()
    {
        var repo = RegistryFixture.NewRepository();
        var digest = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "prod"));
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/prod")).StatusCode);

        var listed = await AdminAsync("deleted", "--repo", repo);
        Assert.Equal(0, listed.ExitCode);
        Assert.Equal("kind\treference\tdigest\tdeleted\trestorable-until\tactor", listed.Lines[0]);
        Assert.StartsWith($"tag\t{repo}:prod\t{digest}\t", listed.Lines[1], StringComparison.Ordinal);
        Assert.EndsWith("\tadmin", listed.Lines[1], StringComparison.Ordinal);
        Assert.Equal(2, listed.Lines.Count); // the manifest was not deleted

        var restored = await AdminAsync("restore", $"{repo}:prod");
        Assert.True(restored.ExitCode == 0, restored.Error);
        Assert.Equal(digest, await TagHistory.CurrentAsync(registry, repo, "prod"));
        Assert.Equal(new ListedMove("restore", digest, null, User), (await TagHistory.GetAsync(registry.Client, repo, "prod"))[0]);
        Assert.Single((await AdminAsync("deleted", "--repo", repo)).Lines);
        var audit = await AdminAsync("audit", "--since", "1h");
        Assert.Contains(audit.Lines, line => line.Contains("admin:restore", StringComparison.Ordinal) && line.Contains($"{repo}:prod -> {digest}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ManifestDeletedByDigest_IsRestoredWithTheTagsItsDeleteRemoved_AndPullsWhole()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "a");
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "b", manifest)).StatusCode);
        var digest = OciTestClient.DigestOf(manifest);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        Assert.Contains((await AdminAsync("deleted", "--repo", repo)).Lines, line => line.StartsWith($"manifest\t{repo}@{digest}\t{digest}\t", StringComparison.Ordinal));

        var restored = await AdminAsync("restore", $"{repo}@{digest}");
        Assert.True(restored.ExitCode == 0, restored.Error);
        Assert.Equal([$"restored {repo}@{digest}", $"restored {repo}:a -> {digest}", $"restored {repo}:b -> {digest}"], restored.Lines);
        foreach (var tag in new[] { "a", "b" })
        {
            Assert.Equal(digest, await TagHistory.CurrentAsync(registry, repo, tag));
            Assert.Equal(new ListedMove("restore", digest, null, User), (await TagHistory.GetAsync(registry.Client, repo, tag))[0]);
        }
        Assert.Equal(manifest, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{digest}"));
        var layer = (string)System.Text.Json.Nodes.JsonNode.Parse(manifest)!["layers"]![0]!["digest"]!;
        Assert.Equal(HttpStatusCode.OK, (await _oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{layer}")).StatusCode);
        Assert.Single((await AdminAsync("deleted", "--repo", repo)).Lines);
    }

    [Fact]
    public async Task TagAndManifestARetentionRunDeleted_AreRestoredTogether()
    {
        var repo = RegistryFixture.NewRepository();
        var old = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "old"));
        await _oci.PushImageAsync(repo, "new");
        var policies = registry.Services.GetRequiredService<RetentionPolicies>();
        await policies.SetAsync(new RetentionPolicy(repo, 1, "*", null, null, TimeSpan.FromDays(7)), "test", CancellationToken.None);
        try
        {
            var run = await _future.Services.GetRequiredService<RetentionRunner>().RunAsync(false, repo, CancellationToken.None);
            Assert.Contains(run.Decisions, d => d.Deleted && d.Tag == "old");
            Assert.Contains(run.Decisions, d => d.Deleted && d.Tag is null && d.Digest.Value == old);
        }
        finally
        {
            await policies.RemoveAsync(repo, CancellationToken.None);
        }

        var restored = await AdminAsync("restore", $"{repo}:old");
        Assert.True(restored.ExitCode == 0, restored.Error);
        Assert.Equal(old, await TagHistory.CurrentAsync(registry, repo, "old"));
        using var client = _future.OwnerClient();
        Assert.Equal(old, OciTestClient.DigestOf(await client.GetByteArrayAsync($"/v2/{repo}/manifests/old")));
    }

    [Fact]
    public async Task Restore_OfWhatWasNeverDeleted_OrIsMalformed_FailsWithOneErrorLine()
    {
        var repo = RegistryFixture.NewRepository();
        var digest = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "live"));

        AssertRefused(await AdminAsync("restore", $"{repo}:live"), "never deleted");
        AssertRefused(await AdminAsync("restore", $"{repo}@{digest}"), "is not deleted");
        AssertRefused(await AdminAsync("restore", $"{repo}@sha256:{new string('1', 64)}"), "never deleted");
        AssertRefused(await AdminAsync("restore", "Not/A:Name"), "neither REPO:TAG nor REPO@DIGEST");
        Assert.Equal(digest, await TagHistory.CurrentAsync(registry, repo, "live"));
    }

    [Fact]
    public async Task Restore_AfterTheWindowEnded_FailsWithOneErrorLine_AndIsNotListed()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "gone");
        await _oci.PutManifestAsync(repo, "also", manifest);
        var digest = OciTestClient.DigestOf(manifest);
        using var past = _past.OwnerClient();
        Assert.Equal(HttpStatusCode.Accepted, (await past.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);

        AssertRefused(await AdminAsync("restore", $"{repo}:gone"), "that window has ended");
        AssertRefused(await AdminAsync("restore", $"{repo}@{digest}"), "that window has ended");
        Assert.Single((await AdminAsync("deleted", "--repo", repo)).Lines);
        Assert.Null(await TagHistory.CurrentAsync(registry, repo, "gone"));
    }

    [Fact]
    public async Task Restore_OfATagThatNowPointsElsewhere_IsRefused_ForceMovesIt_ButNotWhenLockedOrImmutable()
    {
        var repo = RegistryFixture.NewRepository();
        var first = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "prod"));
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/prod")).StatusCode);
        var second = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "prod"));

        AssertRefused(await AdminAsync("restore", $"{repo}:prod"), $"now points at {second}");
        Assert.Equal(0, (await AdminAsync("lock", $"{repo}:prod")).ExitCode);
        AssertRefused(await AdminAsync("restore", $"{repo}:prod", "--force"), "is locked");
        Assert.Equal(0, (await AdminAsync("unlock", $"{repo}:prod")).ExitCode);
        Assert.Equal(0, (await AdminAsync("policy", "immutable", "add", repo, "prod")).ExitCode);
        try
        {
            AssertRefused(await AdminAsync("restore", $"{repo}:prod", "--force"), "is immutable");
        }
        finally
        {
            Assert.Equal(0, (await AdminAsync("policy", "immutable", "remove", repo, "prod")).ExitCode);
        }
        Assert.Equal(second, await TagHistory.CurrentAsync(registry, repo, "prod"));

        var forced = await AdminAsync("restore", $"{repo}:prod", "--force");
        Assert.True(forced.ExitCode == 0, forced.Error);
        Assert.Equal(first, await TagHistory.CurrentAsync(registry, repo, "prod"));
        Assert.Equal(new ListedMove("restore", first, second, User), (await TagHistory.GetAsync(registry.Client, repo, "prod"))[0]);
    }

    [Fact]
    public async Task Restore_AfterAClientDeletedABlobTheManifestUsed_FailsWithOneErrorLine_AndNothingComesBack()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "v1");
        var digest = OciTestClient.DigestOf(manifest);
        var layer = (string)System.Text.Json.Nodes.JsonNode.Parse(manifest)!["layers"]![0]!["digest"]!;
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
        // A client's explicit blob delete is not held back by the soft-deleted manifest.
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/blobs/{layer}")).StatusCode);

        AssertRefused(await AdminAsync("restore", $"{repo}@{digest}"), "can no longer be restored");
        Assert.Null(await TagHistory.CurrentAsync(registry, repo, "v1"));
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
    }

    private static void AssertRefused(CliRun run, string reason)
    {
        Assert.Equal(1, run.ExitCode);
        var lines = run.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(reason, lines[0], StringComparison.Ordinal);
    }
}
