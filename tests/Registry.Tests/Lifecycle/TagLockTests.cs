using System.Net;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Lifecycle;

/// <summary>
/// Locks set with <c>registry-admin lock</c>: a locked tag refuses every write path that would move or delete it, a
/// locked manifest every delete, with 403 DENIED naming the lock. A lock set while a push of the tag is about to commit
/// (held there by a second instance's <see cref="StorageGate"/>) makes that push fail and read again, so it is refused:
/// a move never lands on a locked tag.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class TagLockTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly StorageGate _gate = new();
    private readonly OciTestClient _oci = new(registry.Client);
    private ExtraRegistry? _second;

    public async Task InitializeAsync() =>
        _second = await ExtraRegistry.StartAsync(registry.Storage, ["--Audit:Enabled=false"], builder => builder.Services.AddSingleton<HttpPipelinePolicy>(_gate));

    public async Task DisposeAsync()
    {
        _gate.Release();
        await _second!.DisposeAsync();
    }

    private Task<CliRun> AdminAsync(params string[] args) => AdminStorage.RunWithAsync(registry.Storage.ConnectionString, args);

    private static async Task AssertLockedAsync(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode}: {body}");
        Assert.Contains("\"DENIED\"", body, StringComparison.Ordinal);
        Assert.Contains(what, body, StringComparison.Ordinal);
        Assert.Contains("locked", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LockedTag_RefusesEveryMoveAndDelete_ButARepeatedPushOfItsDigest_ThenUnlockAllowsThem()
    {
        var repo = RegistryFixture.NewRepository();
        var current = await _oci.PushImageAsync(repo, "prod");
        var other = await _oci.PushImageAsync(repo, "next");
        var digest = OciTestClient.DigestOf(current);
        var locked = await AdminAsync("lock", $"{repo}:prod");
        Assert.True(locked.ExitCode == 0, locked.Error);

        await AssertLockedAsync(await _oci.PutManifestAsync(repo, "prod", other), "tag prod");
        await AssertLockedAsync(await _oci.PutManifestAsync(repo, $"{OciTestClient.DigestOf(other)}?tag=prod", other), "tag prod");
        await AssertLockedAsync(await _oci.PutManifestAsync(repo, $"{OciTestClient.DigestOf(other)}?tag=fresh&tag=prod", other), "tag prod");
        await AssertLockedAsync(await registry.Client.DeleteAsync($"/v2/{repo}/manifests/prod"), "tag prod");
        await AssertLockedAsync(await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}"), "tag prod");
        var rollback = await AdminAsync("tag", "rollback", $"{repo}:prod", "--to", OciTestClient.DigestOf(other));
        Assert.Equal(1, rollback.ExitCode);
        Assert.Contains("locked", rollback.Error, StringComparison.Ordinal);
        // Pushing what it already points at moves nothing, and the lock stays.
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "prod", current)).StatusCode);
        await AssertLockedAsync(await _oci.PutManifestAsync(repo, "prod", other), "tag prod");
        Assert.Equal(digest, await TagHistory.CurrentAsync(registry, repo, "prod"));
        Assert.Single(await TagHistory.GetAsync(registry.Client, repo, "prod"));

        Assert.Equal(0, (await AdminAsync("unlock", $"{repo}:prod")).ExitCode);
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "prod", other)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/prod")).StatusCode);
    }

    [Fact]
    public async Task LockedManifest_CannotBeDeleted_EvenAfterItIsPushedAgain_WhileItsTagsStillMove()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "v1");
        var digest = OciTestClient.DigestOf(manifest);
        Assert.Equal(0, (await AdminAsync("lock", $"{repo}@{digest}")).ExitCode);

        await AssertLockedAsync(await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}"), $"manifest {digest}");
        // A push of the same manifest merges into its row: the lock stays.
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "v1-again", manifest)).StatusCode);
        await AssertLockedAsync(await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}"), $"manifest {digest}");
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/v1")).StatusCode);
        Assert.Equal(manifest, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{digest}"));

        Assert.Equal(0, (await AdminAsync("unlock", $"{repo}@{digest}")).ExitCode);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);
    }

    [Fact]
    public async Task Lock_OfWhatIsNotThere_OrMalformed_FailsWithAMessage()
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "there");
        var noTag = await AdminAsync("lock", $"{repo}:absent");
        Assert.Equal(1, noTag.ExitCode);
        Assert.Contains("is not a tag of repository", noTag.Error, StringComparison.Ordinal);
        var noManifest = await AdminAsync("lock", $"{repo}@sha256:{new string('1', 64)}");
        Assert.Equal(1, noManifest.ExitCode);
        Assert.Contains("is not a manifest of repository", noManifest.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await AdminAsync("lock", "Not/A/Repo:x")).ExitCode);
        Assert.Equal(1, (await AdminAsync("unlock", $"{repo}@sha256:short")).ExitCode);
    }

    [Fact]
    public async Task LockSetWhileAPushOfTheTagIsAboutToCommit_RefusesThatPush_AndTheTagStays()
    {
        var repo = RegistryFixture.NewRepository();
        var current = await _oci.PushImageAsync(repo, "prod");
        var other = await _oci.PushImageAsync(repo, "next");
        using var second = _second!.OwnerClient();

        _gate.HoldBefore(StorageGate.IsBatch);
        var push = new OciTestClient(second).PutManifestAsync(repo, "prod", other);
        await _gate.Reached;
        // The push read the tag unlocked and is held just before its transaction; the lock commits first.
        Assert.Equal(0, (await AdminAsync("lock", $"{repo}:prod")).ExitCode);
        _gate.Release();

        await AssertLockedAsync(await push, "tag prod");
        Assert.Equal(OciTestClient.DigestOf(current), await TagHistory.CurrentAsync(registry, repo, "prod"));
        Assert.Single(await TagHistory.GetAsync(registry.Client, repo, "prod"));
        await AssertLockedAsync(await _oci.PutManifestAsync(repo, "prod", other), "tag prod");
    }

    [Fact]
    public async Task LockSetWhileADeleteOfTheManifestIsAboutToCommit_RefusesThatDelete()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "prod");
        var digest = OciTestClient.DigestOf(manifest);
        using var second = _second!.OwnerClient();

        _gate.HoldBefore(StorageGate.IsBatch);
        var delete = second.DeleteAsync($"/v2/{repo}/manifests/{digest}");
        await _gate.Reached;
        Assert.Equal(0, (await AdminAsync("lock", $"{repo}:prod")).ExitCode);
        _gate.Release();

        await AssertLockedAsync(await delete, "tag prod");
        Assert.Equal(manifest, await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/prod"));
    }
}
