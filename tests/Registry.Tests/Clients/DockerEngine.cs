using System.Text.RegularExpressions;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// A real Docker engine (and the containerd inside it), started once per run by the repository's own
/// scripts/start-test-dockerd, or found running from an earlier run. It reaches registries on 127.0.0.0/8 over
/// plain HTTP without configuration. If it cannot start (docker.io missing: ./scripts/test installs it), the
/// tests that need it fail: they never skip.
/// </summary>
public sealed partial class DockerEngine
{
    /// <summary>The one file a build context made for <see cref="BuildFromScratchAsync"/> holds besides its Dockerfile.</summary>
    public const string PayloadFile = "payload";

    /// <summary>The script waits up to 60 s for a new engine to answer; a busy machine gets some more.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private static readonly Lazy<Task<DockerEngine>> Started = new(StartEngineAsync);

    private readonly string _dockerHost;
    private readonly string _directory;
    private readonly CommandLine _commands;

    private DockerEngine(string dockerHost, string directory, TimeSpan timeout)
    {
        _dockerHost = dockerHost;
        _directory = directory;
        _commands = new CommandLine(timeout, Environment);
    }

    public static Task<DockerEngine> StartAsync() => Started.Value;

    /// <summary>The environment docker and ctr run with (DOCKER_HOST), for tests that expect a command to fail.</summary>
    public IDictionary<string, string> Environment => new Dictionary<string, string> { ["DOCKER_HOST"] = _dockerHost, ["DOCKERD_DIR"] = _directory };

    /// <summary>containerd's socket inside the engine.</summary>
    public string ContainerdSocket => Path.Combine(_directory, "exec", "containerd", "containerd.sock");

    /// <summary>The same engine, with commands allowed <paramref name="timeout"/> each.</summary>
    public DockerEngine WithTimeout(TimeSpan timeout) => new(_dockerHost, _directory, timeout);

    /// <summary>Runs the docker CLI against this engine; returns what it printed.</summary>
    public Task<string> Docker(params string[] args) => _commands.Run("docker", args);

    /// <summary>`docker login` to the registry at <paramref name="address"/> with the owner's credentials.</summary>
    public Task<string> LoginAsync(string address) =>
        Docker("login", address, "--username", RegistryFixture.AdminName, "--password", RegistryFixture.AdminPassword);

    /// <summary>Runs ctr against the engine's containerd, in the k8s.io namespace (the one the kubelet uses).</summary>
    public Task<string> Ctr(params string[] args) =>
        _commands.Run("ctr", ["--address", ContainerdSocket, "-n", "k8s.io", .. args]);

    /// <summary>
    /// Builds <c>FROM scratch</c> an image whose only layer holds <see cref="PayloadFile"/> from
    /// <paramref name="contextDirectory"/>, and tags it <paramref name="reference"/>.
    /// </summary>
    public async Task BuildFromScratchAsync(string contextDirectory, string reference)
    {
        await File.WriteAllTextAsync(Path.Combine(contextDirectory, "Dockerfile"), $"FROM scratch\nCOPY {PayloadFile} /{PayloadFile}\n");
        await Docker("build", "--tag", reference, contextDirectory);
    }

    /// <summary>Builds <paramref name="reference"/> with a 256 KiB random payload (<see cref="BuildFromScratchAsync"/>).</summary>
    public async Task BuildSmallImageAsync(string reference)
    {
        using var context = new TemporaryDirectory();
        await File.WriteAllBytesAsync(context.Combine(PayloadFile), OciTestClient.RandomBytes(256 * 1024));
        await BuildFromScratchAsync(context.Path, reference);
    }

    /// <summary>Pushes <paramref name="reference"/>; returns the manifest digest, which docker both prints and records.</summary>
    public async Task<string> PushAsync(string reference)
    {
        var output = await Docker("push", reference);
        var digest = await RepoDigestAsync(reference);
        Assert.Contains($"digest: {digest}", output, StringComparison.Ordinal);
        return digest;
    }

    /// <summary>The manifest digest docker recorded for <paramref name="reference"/> at its last push or pull (RepoDigests[0], after the @).</summary>
    public async Task<string> RepoDigestAsync(string reference)
    {
        var output = await Docker("inspect", "--format", "{{index .RepoDigests 0}}", reference);
        var repoDigest = RepoDigest().Match(output);
        Assert.True(repoDigest.Success, $"docker has no repo digest for {reference}: '{output}'");
        return repoDigest.Groups["digest"].Value;
    }

    private static async Task<DockerEngine> StartEngineAsync()
    {
        var script = Path.Combine(RepoPaths.Root, "scripts", "start-test-dockerd");
        var output = await new CommandLine(StartTimeout).Run("bash", script);
        var exports = Exports().Match(output);
        Assert.True(exports.Success, $"{script} printed no `export DOCKER_HOST=... DOCKERD_DIR=...` line:\n{output}");
        return new DockerEngine(exports.Groups["host"].Value, exports.Groups["dir"].Value, CommandLine.DefaultTimeout);
    }

    [GeneratedRegex(@"^\S+@(?<digest>sha256:[0-9a-f]{64})$", RegexOptions.Multiline)]
    private static partial Regex RepoDigest();

    [GeneratedRegex(@"^export DOCKER_HOST=(?<host>\S+) DOCKERD_DIR=(?<dir>\S+)$", RegexOptions.Multiline)]
    private static partial Regex Exports();
}
