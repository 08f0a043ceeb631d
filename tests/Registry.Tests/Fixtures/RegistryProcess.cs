using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Registry.Tests.Fixtures;

/// <summary>
/// The registry as real clients meet it: the built host (<c>dotnet Registry.Host.dll</c>) in a process of its own,
/// on a free loopback port, over its own Azurite. A separate process lets tests read the registry's memory use
/// from /proc without the test runner's allocations mixed in.
/// </summary>
public sealed class RegistryProcess : IAsyncLifetime
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private readonly StringBuilder _console = new();
    private Process? _process;
    private Azurite? _storage;

    public int Port { get; private set; }

    /// <summary>host:port, as image references spell the registry (e.g. <c>127.0.0.1:41234</c>).</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>The connection string of this registry's own Azurite, for tests that prepare state (tokens) directly.</summary>
    public string StorageConnectionString => _storage!.ConnectionString;

    /// <summary>This registry's own Azurite, for a second, in-process instance with settings of its own.</summary>
    public Azurite Storage => _storage!;

    /// <summary>The owner's credentials as the clients' command lines take them (<c>user:password</c>).</summary>
    public static string Credentials => $"{RegistryFixture.AdminName}:{RegistryFixture.AdminPassword}";

    /// <summary>An owner's client that does not follow redirects, so tests see the registry's own answers.</summary>
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _storage = await Azurite.StartAsync();
        Port = FreeLoopbackPort();
        Client = new HttpClient(new BearerTokenHandler(new Uri($"http://{Address}"), RegistryFixture.AdminName, RegistryFixture.AdminPassword, followRedirects: false))
        {
            BaseAddress = new Uri($"http://{Address}"),
            Timeout = TimeSpan.FromMinutes(3),
        };
        _process = StartHost(_storage.ConnectionString, Port);
        await WaitUntilServingAsync();
    }

    /// <summary>The registry process's resident memory: its peak since start (or since <see cref="ResetPeakMemory"/>) and now.</summary>
    public ProcessMemory ReadMemory()
    {
        long? peak = null, current = null;
        foreach (var line in File.ReadLines($"/proc/{_process!.Id}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = KilobytesField(line);
            }
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                current = KilobytesField(line);
            }
        }
        return new ProcessMemory(
            peak ?? throw new InvalidOperationException("no VmHWM in /proc/<pid>/status"),
            current ?? throw new InvalidOperationException("no VmRSS in /proc/<pid>/status"));
    }

    /// <summary>
    /// Lowers the peak (VmHWM) to the current resident size (writing 5 to /proc/&lt;pid&gt;/clear_refs), so the next
    /// <see cref="ReadMemory"/> reports the peak of what ran in between and not of earlier tests.
    /// </summary>
    public void ResetPeakMemory() => File.WriteAllText($"/proc/{_process!.Id}/clear_refs", "5");

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
        if (_storage is not null)
        {
            await _storage.DisposeAsync();
        }
    }

    private Process StartHost(string connectionString, int port)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "Registry.Host.dll");
        if (!File.Exists(host))
        {
            throw new InvalidOperationException($"{host} is missing: the test project references src/Registry.Host, so `dotnet build` puts it there.");
        }
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList = { host },
            Environment =
            {
                ["Storage__ConnectionString"] = connectionString,
                ["Registry__Port"] = port.ToString(CultureInfo.InvariantCulture),
                ["Logging__LogLevel__Default"] = "Warning",
                ["Auth__AdminPassword"] = RegistryFixture.AdminPassword,
            },
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + host);
        process.OutputDataReceived += (_, line) => Record(line.Data);
        process.ErrorDataReceived += (_, line) => Record(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitUntilServingAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartDeadline && !_process!.HasExited)
        {
            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var response = await Client.GetAsync("/v2/", attempt.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        var state = _process!.HasExited ? $"exited with {_process.ExitCode}" : $"did not answer GET /v2/ with 200 within {StartDeadline}";
        throw new InvalidOperationException($"the registry on {Address} {state}. Its output:\n{Recorded()}");
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_console)
        {
            _console.AppendLine(line);
        }
    }

    private string Recorded()
    {
        lock (_console)
        {
            return _console.ToString();
        }
    }

    private static long KilobytesField(string line) =>
        long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    /// <summary>A port free right now; the registry binds it a moment later.</summary>
    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Resident set sizes in bytes, as /proc/&lt;pid&gt;/status reports them (VmHWM, VmRSS).</summary>
public sealed record ProcessMemory(long PeakBytes, long CurrentBytes);
