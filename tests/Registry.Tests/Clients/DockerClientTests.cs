using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

[Collection(RealClientsGroup.Name)]
public sealed class DockerClientTests(RegistryProcess registry)
{
    [Fact]
    public async Task DockerPush_ThenRmiAndPull_PullsTheDigestItPushed()
    {
        var docker = await DockerEngine.StartAsync();
        await docker.LoginAsync(registry.Address);
        var reference = $"{registry.Address}/team/app:1.0";
        await docker.BuildSmallImageAsync(reference);

        var pushed = await docker.PushAsync(reference);
        await docker.Docker("rmi", reference);
        await docker.Docker("pull", reference);

        Assert.Equal(pushed, await docker.RepoDigestAsync(reference));
        Assert.Equal(pushed, await RegistryManifests.DigestAsync(registry.Client, HttpMethod.Get, "team/app", "1.0"));
    }
}
