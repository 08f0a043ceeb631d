using System.Diagnostics;
using Registry.Benchmarks.Processes;

namespace Registry.Benchmarks.Baselines;

/// <summary>
/// The baseline registry: CNCF Distribution 2.8 from Debian (<c>apt-get install docker-registry</c>), run as
/// <c>docker-registry serve</c> with a config of our own: filesystem storage in a temporary folder on the same disk
/// as Azurite's, loopback only, no auth, the in-memory blob descriptor cache of its stock config.
/// </summary>
internal sealed class DistributionProcess : IAsyncDisposable
{
    public const string Executable = "/usr/bin/docker-registry";

    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private readonly ManagedProcess _process;
    private readonly string _directory;

    private DistributionProcess(ManagedProcess process, string directory, Uri address, TimeSpan startup)
    {
        _process = process;
        _directory = directory;
        Target = new RegistryTarget("Distribution", address, process.Id, null);
        Startup = startup;
    }

    public RegistryTarget Target { get; }

    /// <summary>From just before the process was started to the first HTTP answer of <c>GET /v2/</c>.</summary>
    public TimeSpan Startup { get; }

    /// <summary>Where its blobs live: the harness deletes large layers there between rounds to spare the disk.</summary>
    public string BlobDirectory => Path.Combine(_directory, "data", "docker", "registry", "v2", "blobs");

    public static async Task<DistributionProcess> StartAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} is missing: install the baseline with `apt-get install -y docker-registry`.");
        }
        var directory = Directory.CreateTempSubdirectory("bench-distribution-").FullName;
        var port = LocalPorts.Free();
        var config = Path.Combine(directory, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Path.Combine(directory, "data")}
              delete:
                enabled: true
              cache:
                blobdescriptor: inmemory
            http:
              addr: 127.0.0.1:{port}
            """, cancellationToken);
        var address = new Uri($"http://127.0.0.1:{port}");
        var watch = Stopwatch.StartNew();
        var process = ManagedProcess.Start(Executable, ["serve", config]);
        try
        {
            await HttpProbe.WaitForAnswerAsync(new Uri(address, "/v2/"), process, StartDeadline, cancellationToken);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return new DistributionProcess(process, directory, address, watch.Elapsed);
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS's temp cleanup.
        }
    }
}
