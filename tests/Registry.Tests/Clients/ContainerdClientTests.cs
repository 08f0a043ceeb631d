using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

[Collection(RealClientsGroup.Name)]
public sealed class ContainerdClientTests(RegistryProcess registry)
{
    [Fact]
    public async Task CtrPull_OfADockerPushedImage_ThenPushUnderANewName_ServesTheSameDigest()
    {
        var docker = await DockerEngine.StartAsync();
        await docker.LoginAsync(registry.Address);
        var source = $"{registry.Address}/ctr/source:1";
        var copy = $"{registry.Address}/ctr/copy:1";
        await docker.BuildSmallImageAsync(source);
        var pushed = await docker.PushAsync(source);

        await docker.Ctr("images", "pull", "--plain-http", "--user", RegistryProcess.Credentials, source);
        await docker.Ctr("images", "tag", "--force", source, copy);
        await docker.Ctr("images", "push", "--plain-http", "--user", RegistryProcess.Credentials, copy);

        Assert.Equal(pushed, await RegistryManifests.DigestAsync(registry.Client, HttpMethod.Head, "ctr/copy", "1"));
    }
}
