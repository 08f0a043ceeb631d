using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// Runs client tools (docker, ctr, skopeo) to completion under a deadline. A tool that exits non-zero fails the
/// test with the command line and everything the tool printed; one that outlives the deadline throws a
/// <see cref="TimeoutException"/> with its output.
/// </summary>
public sealed class CommandLine(TimeSpan timeout, IDictionary<string, string>? environment = null)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    public static CommandLine Default { get; } = new(DefaultTimeout);

    /// <summary>Runs <paramref name="file"/> and returns what it printed (standard output, then standard error).</summary>
    public async Task<string> Run(string file, params string[] args)
    {
        var result = await ProcessRunner.RunAsync(file, args, timeout, environment);
        Assert.True(result.ExitCode == 0, $"`{file} {string.Join(' ', args)}` exited with {result.ExitCode}:\n{result.Output}");
        return result.Output;
    }
}
