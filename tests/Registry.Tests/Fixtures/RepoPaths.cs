namespace Registry.Tests.Fixtures;

/// <summary>Finds files of this repository from the test binaries' folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

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
