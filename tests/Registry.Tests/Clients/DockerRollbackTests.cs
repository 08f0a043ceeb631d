using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// The rollback a deployment that went south needs, with a real docker: <c>:1</c>, <c>:2</c>, <c>:3</c> pushed, <c>:prod</c>
/// moved from <c>:2</c> to <c>:3</c>, <c>registry-admin tag rollback</c> points it back, and <c>docker pull :prod</c> gets
/// <c>:2</c>'s digest. The instance docker talks to caches no tags, so the pull sees the CLI's change at once.
/// </summary>
[Collection(RealClientsGroup.Name)]
public sealed class DockerRollbackTests(RegistryProcess registry)
{
    [Fact]
    public async Task TagRollback_ThenDockerPullOfProd_GetsTheEarlierImage()
    {
        await using var instance = await ExtraRegistry.StartAsync(registry.Storage, ["--Jobs:InProcess=false", "--Cache:Tags=00:00:00"]);
        var docker = await DockerEngine.StartAsync();
        var address = instance.BaseAddress.Authority;
        await docker.LoginAsync(address);
        var app = $"{address}/lifecycle/app";
        var digests = new Dictionary<string, string>();
        foreach (var version in new[] { "1", "2", "3" })
        {
            await docker.BuildSmallImageAsync($"{app}:{version}");
            digests[version] = await docker.PushAsync($"{app}:{version}");
        }
        foreach (var version in new[] { "2", "3" })
        {
            await docker.Docker("tag", $"{app}:{version}", $"{app}:prod");
            Assert.Equal(digests[version], await docker.PushAsync($"{app}:prod"));
        }

        var rollback = await AdminStorage.RunWithAsync(registry.StorageConnectionString, "tag", "rollback", "lifecycle/app:prod");
        Assert.True(rollback.ExitCode == 0, rollback.Error);
        Assert.Equal($"lifecycle/app:prod -> {digests["2"]}", rollback.Lines[0]);

        foreach (var version in new[] { "1", "2", "3", "prod" })
        {
            await docker.Docker("rmi", $"{app}:{version}");
        }
        await docker.Docker("pull", $"{app}:prod");
        Assert.Equal(digests["2"], await docker.RepoDigestAsync($"{app}:prod"));
    }
}
