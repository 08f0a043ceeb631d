using Registry.Auth;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>podman (from Debian) with a scoped registry token: login, pull, push inside the scope, refused outside.</summary>
[Collection(RealClientsGroup.Name)]
public sealed class PodmanClientTests(RegistryProcess registry)
{
    [Fact]
    public async Task Podman_LoginPullPush_WithAScopedToken()
    {
        var docker = await DockerEngine.StartAsync();
        await docker.LoginAsync(registry.Address);
        var source = $"{registry.Address}/podman/source:1";
        await docker.BuildSmallImageAsync(source);
        await docker.PushAsync(source);
        var password = await ScopedTokens.CreateAsync(registry, "podman-ci", new AccessRule("podman/*", [Actions.Pull, Actions.Push]));

        using var state = new TemporaryDirectory();
        string[] common = ["--storage-driver", "vfs", "--root", state.Combine("root"), "--runroot", state.Combine("run")];
        var authfile = state.Combine("auth.json");
        // podman also reads docker's credentials file, which holds the owner's identity token for this address.
        var isolated = new Dictionary<string, string> { ["DOCKER_CONFIG"] = state.Combine("docker"), ["REGISTRY_AUTH_FILE"] = authfile };
        var podman = new CommandLine(TimeSpan.FromMinutes(3), isolated);
        await podman.Run("podman", [.. common, "login", "--tls-verify=false", "--authfile", authfile, "--username", "podman-ci", "--password", password, registry.Address]);
        await podman.Run("podman", [.. common, "pull", "--tls-verify=false", "--authfile", authfile, source]);
        var copy = $"{registry.Address}/podman/copy:1";
        await podman.Run("podman", [.. common, "tag", source, copy]);
        await podman.Run("podman", [.. common, "push", "--tls-verify=false", "--authfile", authfile, copy]);
        // podman writes its own manifest for the copy (it may change format), so the copy has a digest of its own:
        // it must exist and pull back.
        var copied = await RegistryManifests.DigestAsync(registry.Client, HttpMethod.Head, "podman/copy", "1");
        Assert.StartsWith("sha256:", copied, StringComparison.Ordinal);
        await podman.Run("podman", [.. common, "pull", "--tls-verify=false", "--authfile", authfile, copy]);

        var outside = $"{registry.Address}/elsewhere/podman:1";
        await podman.Run("podman", [.. common, "tag", source, outside]);
        var refused = await ProcessRunner.RunAsync("podman", [.. common, "push", "--tls-verify=false", "--authfile", authfile, outside], CommandLine.DefaultTimeout, isolated);
        Assert.NotEqual(0, refused.ExitCode);
    }
}
