using System.Diagnostics;
using System.Globalization;

namespace Registry.Benchmarks.Processes;

/// <summary>How our registry process is started.</summary>
internal enum Launch
{
    /// <summary><c>dotnet Registry.Host.dll</c> of the Release build.</summary>
    Dotnet,

    /// <summary>The native launcher (apphost) of the same build.</summary>
    AppHost,

    /// <summary>The published package's executable (<see cref="PublishedHost"/>), as the Functions host starts it.</summary>
    Published,
}

/// <summary>
/// Our registry as a process of its own (the Release build of src/Registry.Host, or its published package; see
/// <see cref="Launch"/>), on a free loopback port, over the given Azurite. A process of its own keeps the load
/// generator's CPU and allocations out of the registry's /proc figures.
/// </summary>
internal sealed class OurRegistryProcess : IAsyncDisposable
{
    public static readonly OwnerCredentials Owner = new("admin", "bench-owner-password");

    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private readonly ManagedProcess _process;

    private OurRegistryProcess(ManagedProcess process, Uri address, TimeSpan startup)
    {
        _process = process;
        Target = new RegistryTarget("ours", address, process.Id, Owner);
        Startup = startup;
    }

    public RegistryTarget Target { get; }

    /// <summary>From just before the process was started to the first HTTP answer of <c>GET /v2/</c> (any status).</summary>
    public TimeSpan Startup { get; }

    /// <param name="storagePrefix">Names the container and tables, so a registry can start with nothing in it on a shared Azurite.</param>
    /// <param name="settings">More environment settings (<c>Section__Key</c>), which win over the harness's.</param>
    public static async Task<OurRegistryProcess> StartAsync(
        Azurite storage, Launch launch, string? storagePrefix, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = RepoPaths.HostDll;
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: build the benchmark project (it references src/Registry.Host).");
        }
        if (launch == Launch.Published && !File.Exists(PublishedHost.Executable))
        {
            throw new InvalidOperationException($"{PublishedHost.Executable} is missing: call PublishedHost.PublishAsync first.");
        }
        var port = LocalPorts.Free();
        var environment = new Dictionary<string, string>
        {
            ["Storage__ConnectionString"] = storage.ConnectionString,
            ["Registry__ListenAddress"] = "127.0.0.1",
            ["Registry__Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Auth__AdminName"] = Owner.User,
            ["Auth__AdminPassword"] = Owner.Password,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        if (storagePrefix is not null)
        {
            environment["Storage__BlobContainer"] = storagePrefix;
            foreach (var table in new[] { "Repositories", "Blobs", "Auth", "Audit", "Policies" })
            {
                environment[$"Storage__{table}Table"] = storagePrefix + table.ToLowerInvariant();
            }
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }
        var address = new Uri($"http://127.0.0.1:{port}");
        var watch = Stopwatch.StartNew();
        var process = launch switch
        {
            Launch.AppHost => ManagedProcess.Start(RepoPaths.HostAppHost, [], environment, AppContext.BaseDirectory),
            // In its own folder, as the Functions host runs it: the content root (appsettings.json) is the working directory.
            Launch.Published => ManagedProcess.Start(PublishedHost.Executable, [], environment, PublishedHost.Directory),
            _ => ManagedProcess.Start("dotnet", [dll], environment, AppContext.BaseDirectory),
        };
        try
        {
            await HttpProbe.WaitForAnswerAsync(new Uri(address, "/v2/"), process, StartDeadline, cancellationToken);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return new OurRegistryProcess(process, address, watch.Elapsed);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
