using System.Diagnostics;

namespace Registry.Benchmarks.Processes;

/// <summary>
/// A child process the harness started: its output is drained (the last lines kept for error messages), and it is
/// killed, with its children, when disposed. Only processes started here are ever killed.
/// </summary>
internal sealed class ManagedProcess : IAsyncDisposable
{
    private const int KeptLines = 200;

    private readonly Process _process;
    private readonly Queue<string> _lines = new();

    private ManagedProcess(Process process, string description)
    {
        _process = process;
        Description = description;
    }

    public string Description { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Called with every output line (stdout and stderr) as it arrives.</summary>
    public event Action<string>? LineReceived;

    public static ManagedProcess Start(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        var process = new Process { StartInfo = start };
        var managed = new ManagedProcess(process, $"{file} {string.Join(' ', start.ArgumentList)}");
        process.OutputDataReceived += (_, e) => managed.Record(e.Data);
        process.ErrorDataReceived += (_, e) => managed.Record(e.Data);
        if (!process.Start())
        {
            process.Dispose();
            throw new InvalidOperationException("could not start " + managed.Description);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    /// <summary>Waits for the process to end by itself; its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    /// <summary>The last lines the process printed, for error messages.</summary>
    public string RecentOutput()
    {
        lock (_lines)
        {
            return string.Join('\n', _lines);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await _process.WaitForExitAsync(wait.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        _process.Dispose();
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > KeptLines)
            {
                _lines.Dequeue();
            }
        }
        LineReceived?.Invoke(line);
    }
}
