using Microsoft.Extensions.Options;
using Registry.Auth;
using Registry.Storage;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>Creates registry tokens directly in a <see cref="RegistryProcess"/>'s storage.</summary>
internal static class ScopedTokens
{
    /// <summary>Saves token <paramref name="name"/> with <paramref name="rules"/>; returns its new password.</summary>
    public static async Task<string> CreateAsync(RegistryProcess registry, string name, params AccessRule[] rules)
    {
        var clients = new StorageClients(Options.Create(new StorageOptions { ConnectionString = registry.StorageConnectionString }), []);
        var password = "pw-" + Guid.NewGuid().ToString("N");
        await new RegistryTokens(clients, TimeProvider.System).SaveAsync(new RegistryToken(name, [PasswordHasher.Hash(password)], rules, true, null), CancellationToken.None);
        return password;
    }
}

/// <summary>Real clients with a scoped registry token: allowed inside its scope map, refused outside it.</summary>
[Collection(RealClientsGroup.Name)]
public sealed class ScopedTokenClientTests(RegistryProcess registry)
{
    [Fact]
    public async Task Docker_WithAPushTokenForScopedStar_PushesThere_AndIsDeniedElsewhere()
    {
        var password = await ScopedTokens.CreateAsync(registry, "ci-docker", new AccessRule("scoped/*", [Actions.Pull, Actions.Push]));
        var docker = await DockerEngine.StartAsync();
        await docker.Docker("login", registry.Address, "--username", "ci-docker", "--password", password);
        var allowed = $"{registry.Address}/scoped/app:1";
        await docker.BuildSmallImageAsync(allowed);
        var digest = await docker.PushAsync(allowed);
        Assert.Equal(digest, await RegistryManifests.DigestAsync(registry.Client, HttpMethod.Head, "scoped/app", "1"));

        var denied = $"{registry.Address}/elsewhere/app:1";
        await docker.Docker("tag", allowed, denied);
        var push = await ProcessRunner.RunAsync("docker", ["push", denied], CommandLine.DefaultTimeout, docker.Environment);
        Assert.NotEqual(0, push.ExitCode);
        Assert.True(push.Output.Contains("denied", StringComparison.OrdinalIgnoreCase) || push.Output.Contains("unauthorized", StringComparison.OrdinalIgnoreCase), push.Output);
        await docker.LoginAsync(registry.Address);
    }

    [Fact]
    public async Task SkopeoAndCtr_WithAPullOnlyToken_PullInScope_AndCannotPushOrReadOutside()
    {
        var docker = await DockerEngine.StartAsync();
        await docker.LoginAsync(registry.Address);
        var reference = $"{registry.Address}/readable/app:1";
        await docker.BuildSmallImageAsync(reference);
        await docker.PushAsync(reference);
        var password = await ScopedTokens.CreateAsync(registry, "ci-reader", new AccessRule("readable/*", [Actions.Pull]));
        var creds = $"ci-reader:{password}";

        await docker.Ctr("images", "pull", "--plain-http", "--user", creds, reference);
        using var layout = new TemporaryDirectory();
        var pull = await ProcessRunner.RunAsync("skopeo",
            ["copy", "--src-tls-verify=false", "--src-creds", creds, $"docker://{reference}", $"oci:{layout.Path}:x"], CommandLine.DefaultTimeout);
        Assert.Equal(0, pull.ExitCode);

        var push = await ProcessRunner.RunAsync("skopeo",
            ["copy", "--dest-tls-verify=false", "--dest-creds", creds, $"oci:{layout.Path}:x", $"docker://{registry.Address}/readable/copy:1"], CommandLine.DefaultTimeout);
        Assert.NotEqual(0, push.ExitCode);
        var outside = await ProcessRunner.RunAsync("ctr",
            ["--address", docker.ContainerdSocket, "-n", "k8s.io", "images", "pull", "--plain-http", "--user", creds, $"{registry.Address}/scoped/app:1"], CommandLine.DefaultTimeout);
        Assert.NotEqual(0, outside.ExitCode);
    }
}
