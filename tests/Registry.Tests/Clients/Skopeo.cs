using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// skopeo (from Debian) copying images between an OCI layout on disk and the registry over plain HTTP.
/// A missing skopeo fails the test: scripts/test installs it.
/// </summary>
public static class Skopeo
{
    /// <summary><c>skopeo copy</c> into the registry; <paramref name="options"/> go before the two references.</summary>
    public static Task Push(string source, string destination, params string[] options) =>
        Copy([.. options, "--dest-tls-verify=false", "--dest-creds", RegistryProcess.Credentials, source, destination]);

    /// <summary><c>skopeo copy</c> out of the registry; <paramref name="options"/> go before the two references.</summary>
    public static Task Pull(string source, string destination, params string[] options) =>
        Copy([.. options, "--src-tls-verify=false", "--src-creds", RegistryProcess.Credentials, source, destination]);

    private static async Task Copy(string[] args)
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, "skopeo")));
        Assert.True(onPath, "skopeo is not installed: run scripts/test, which installs it from Debian (or `apt-get install skopeo`).");
        await CommandLine.Default.Run("skopeo", ["copy", .. args]);
    }
}
