using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Registry.Retention;
using Registry.Storage.Policies;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Lifecycle;

/// <summary>
/// Repository locks (<c>registry-admin lock REPO</c> or <c>'team/*'</c>): a locked repository is pulled as before, and
/// every write path that would add to it or take from it is refused with 403 DENIED naming the lock: upload, manifest
/// PUT by tag and by digest with <c>?tag=</c>, DELETE of a tag, a manifest and a blob, rollback, restore and retention (whose dry
/// run says the same). Cancelling an upload still works. The locks are set through the fixture's own instance, which
/// applies them at once (another instance within <see cref="RepositoryLocks.RefreshInterval"/>).
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class RepositoryLockTests(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    private RepositoryLocks Locks => registry.Services.GetRequiredService<RepositoryLocks>();

    private static async Task AssertLockedAsync(HttpResponseMessage response, string pattern)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode}: {body}");
        using var json = System.Text.Json.JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("errors")[0];
        Assert.Equal("DENIED", error.GetProperty("code").GetString());
        var detail = error.GetProperty("detail").GetString();
        Assert.Contains($"is locked ('{pattern}')", detail, StringComparison.Ordinal);
        Assert.Contains($"registry-admin unlock '{pattern}'", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LockedRepository_IsPulled_AndRefusesEveryPushAndDelete_UntilUnlocked()
    {
        var team = RegistryFixture.NewRepository("replock");
        var repo = team + "/app";
        var pattern = team + "/*";
        var v1 = await _oci.PushImageAsync(repo, "v1");
        var v1Digest = OciTestClient.DigestOf(v1);
        var v2 = await _oci.PushImageAsync(repo, "v2");
        var layer = OciTestClient.RandomBytes(100);
        await _oci.PushBlobAsync(repo, layer);
        var session = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, session.StatusCode);
        await _oci.PushImageAsync(repo, "gone");
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/gone")).StatusCode);
        await Locks.LockAsync(pattern, "test", CancellationToken.None);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await registry.Client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await registry.Client.GetAsync($"/v2/{repo}/tags/list")).StatusCode);
            Assert.NotEqual(HttpStatusCode.Forbidden, (await registry.Client.GetAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}")).StatusCode);

            await AssertLockedAsync(await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null), pattern);
            await AssertLockedAsync(await registry.Client.PatchAsync(session.Headers.Location, OciTestClient.Octets(layer)), pattern);
            await AssertLockedAsync(await _oci.PutManifestAsync(repo, "v1", v2), pattern);
            await AssertLockedAsync(await _oci.PutManifestAsync(repo, "v3", v2), pattern);
            await AssertLockedAsync(await _oci.PutManifestAsync(repo, $"{OciTestClient.DigestOf(v2)}?tag=v4", v2), pattern);
            await AssertLockedAsync(await registry.Client.DeleteAsync($"/v2/{repo}/manifests/v2"), pattern);
            await AssertLockedAsync(await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{v1Digest}"), pattern);
            await AssertLockedAsync(await registry.Client.DeleteAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(layer)}"), pattern);
            var rollback = await AdminStorage.RunWithAsync(registry.Storage.ConnectionString, "tag", "rollback", $"{repo}:v2", "--to", v1Digest);
            Assert.Equal(1, rollback.ExitCode);
            Assert.Contains($"is locked ('{pattern}')", rollback.Error, StringComparison.Ordinal);
            var restore = await AdminStorage.RunWithAsync(registry.Storage.ConnectionString, "restore", $"{repo}:gone");
            Assert.Equal(1, restore.ExitCode);
            Assert.Contains($"is locked ('{pattern}')", restore.Error, StringComparison.Ordinal);
            // Cancelling an upload frees what it holds and writes nothing: still allowed.
            Assert.Equal(HttpStatusCode.NoContent, (await registry.Client.DeleteAsync(session.Headers.Location)).StatusCode);
            // Another repository is not covered.
            await _oci.PushImageAsync(RegistryFixture.NewRepository("replock"), "v1");

            Assert.Equal(OciTestClient.DigestOf(v2), await TagHistory.CurrentAsync(registry, repo, "v2"));
            Assert.Equal(v1Digest, await TagHistory.CurrentAsync(registry, repo, "v1"));
            Assert.Null(await TagHistory.CurrentAsync(registry, repo, "v3"));
        }
        finally
        {
            Assert.True(await Locks.UnlockAsync(pattern, CancellationToken.None));
        }
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "v3", v2)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/v3")).StatusCode);
        Assert.Equal(0, (await AdminStorage.RunWithAsync(registry.Storage.ConnectionString, "restore", $"{repo}:gone")).ExitCode);
    }

    [Fact]
    public async Task Retention_KeepsEveryTagOfALockedRepository_InTheDryRunAndTheRealRun_ThenPrunesOnceUnlocked()
    {
        var repo = RegistryFixture.NewRepository("replock");
        await _oci.PushImageAsync(repo, "old");
        await _oci.PushImageAsync(repo, "new");
        var policies = registry.Services.GetRequiredService<RetentionPolicies>();
        var runner = registry.Services.GetRequiredService<RetentionRunner>();
        await policies.SetAsync(new RetentionPolicy(repo, 1, "*", null, null, null), "test", CancellationToken.None);
        try
        {
            await Locks.LockAsync(repo, "test", CancellationToken.None);
            try
            {
                foreach (var dryRun in new[] { true, false })
                {
                    var report = await runner.RunAsync(dryRun, repo, CancellationToken.None);
                    Assert.Equal(2, report.Decisions.Count);
                    Assert.All(report.Decisions, d => Assert.False(d.Deleted));
                    Assert.All(report.Decisions, d => Assert.Contains($"is locked ('{repo}')", d.Reason, StringComparison.Ordinal));
                }
                Assert.NotNull(await TagHistory.CurrentAsync(registry, repo, "old"));
            }
            finally
            {
                Assert.True(await Locks.UnlockAsync(repo, CancellationToken.None));
            }
            var unlocked = await runner.RunAsync(dryRun: false, repo, CancellationToken.None);
            Assert.Equal(["old"], unlocked.Decisions.Where(d => d.Deleted).Select(d => d.Tag));
        }
        finally
        {
            await policies.RemoveAsync(repo, CancellationToken.None);
        }
    }

    [Fact]
    public async Task LockCommand_LocksARepositoryOrAPattern_AndRefusesMalformedOnesAndUnlockingWhatIsNotLocked()
    {
        var pattern = RegistryFixture.NewRepository("replock") + "/*";
        Task<CliRun> Admin(params string[] args) => AdminStorage.RunWithAsync(registry.Storage.ConnectionString, args);

        var locked = await Admin("lock", pattern);
        Assert.True(locked.ExitCode == 0, locked.Error);
        Assert.Contains(pattern, await Locks.ListAsync(CancellationToken.None));
        Assert.Equal(0, (await Admin("unlock", pattern)).ExitCode);
        Assert.DoesNotContain(pattern, await Locks.ListAsync(CancellationToken.None));

        var again = await Admin("unlock", pattern);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("is not locked", again.Error, StringComparison.Ordinal);
        var malformed = await Admin("lock", "Team/App");
        Assert.Equal(1, malformed.ExitCode);
        Assert.Contains("is not a repository pattern", malformed.Error, StringComparison.Ordinal);
    }
}
