namespace Registry.Benchmarks.Processes;

/// <summary>
/// The registry as it is deployed: <c>dotnet publish</c> of src/Registry.Host, which is what azd runs (self-contained,
/// composite ReadyToRun, linux-x64: see its csproj), into a folder beside this program. The first publish compiles
/// the whole framework ahead of time and takes minutes; later ones are incremental and take seconds.
/// </summary>
internal static class PublishedHost
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(15);

    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "published-host");

    /// <summary>The native executable the Functions host starts (<c>defaultExecutablePath</c> in host.json).</summary>
    public static string Executable => Path.Combine(Directory, "Registry.Host");

    /// <summary>Publishes the current sources; throws with the tail of the build output when it fails.</summary>
    public static async Task PublishAsync(CancellationToken cancellationToken)
    {
        await using var publish = ManagedProcess.Start("dotnet",
            ["publish", Path.Combine(RepoPaths.Root, "src", "Registry.Host"), "-c", "Release", "-o", Directory, "--nologo"]);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);
        var exitCode = await publish.WaitForExitAsync(deadline.Token);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{publish.Description} exited with {exitCode}:\n{publish.RecentOutput()}");
        }
    }
}
