namespace Registry.Benchmarks.Processes;

/// <summary>Finds files of this repository and of the build from the program's folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The built registry host, copied beside this program (or beside the tests that run it) by the project reference.</summary>
    public static string HostDll => Path.Combine(AppContext.BaseDirectory, "Registry.Host.dll");

    /// <summary>The native launcher of the same build (<c>UseAppHost</c>).</summary>
    public static string HostAppHost => Path.Combine(AppContext.BaseDirectory, "Registry.Host");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Registry.Functions.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Registry.Functions.sln not found above " + AppContext.BaseDirectory);
    }
}
