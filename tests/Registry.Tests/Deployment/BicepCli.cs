using System.Diagnostics;
using System.Reflection;

namespace Registry.Tests.Deployment;

/// <summary>
/// The Bicep CLI that restore brings with the Azure.Bicep.CommandLine.linux-x64 package (its build props set
/// BicepPath, which the test project stamps into this assembly). Missing means the tests fail, never skip.
/// </summary>
internal static class BicepCli
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    private static readonly Lazy<string> Executable = new(Locate);

    public static async Task<Result> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Executable.Value)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + Executable.Value);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', args)} did not finish in 2 minutes");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    private static string Locate()
    {
        var configured = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "BicepPath")?.Value;
        if (string.IsNullOrEmpty(configured))
        {
            throw new InvalidOperationException(
                "BicepPath is not set: the Azure.Bicep.CommandLine.linux-x64 package was not restored for tests/Registry.Tests (run `dotnet restore`).");
        }
        // The package's props join the folder with a backslash; the path is used on Linux.
        var path = Path.GetFullPath(configured.Replace('\\', Path.DirectorySeparatorChar));
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The Bicep CLI is missing at {path}: run `dotnet restore tests/Registry.Tests`.");
        }
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) == 0)
        {
            // NuGet extracts package files without their execute bit on some set-ups.
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        return path;
    }
}
