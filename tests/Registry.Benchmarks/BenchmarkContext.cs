using System.Diagnostics;
using Registry.Benchmarks.Baselines;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;

namespace Registry.Benchmarks;

/// <summary>
/// What the workloads share: the scale, the progress log, the notes under the table, and the processes under test,
/// each started on first use and stopped at the end (one Azurite; our registry; Distribution). Workloads run one
/// after another, so nothing here is shared between threads.
/// </summary>
internal sealed class BenchmarkContext(BenchmarkScale scale, TextWriter progress) : IAsyncDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<string> _notes = [];
    private readonly List<IAsyncDisposable> _owned = [];
    private Azurite? _storage;
    private OurRegistryProcess? _ours;
    private DistributionProcess? _distribution;

    public BenchmarkScale Scale => scale;

    public IReadOnlyList<string> Notes => _notes;

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Progress(string message) => progress.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1}s] {message}");

    /// <summary>A line under the table: a breakdown, or what a figure depends on.</summary>
    public void Note(string note) => _notes.Add(note);

    public async Task<Azurite> StorageAsync(CancellationToken cancellationToken) =>
        _storage ??= Own(await Azurite.StartAsync(cancellationToken));

    /// <summary>Our registry process (<c>dotnet Registry.Host.dll</c>) on the shared Azurite.</summary>
    public async Task<RegistryTarget> OursAsync(CancellationToken cancellationToken)
    {
        _ours ??= Own(await OurRegistryProcess.StartAsync(await StorageAsync(cancellationToken), Launch.Dotnet, storagePrefix: null, cancellationToken));
        return _ours.Target;
    }

    public async Task<DistributionProcess> DistributionProcessAsync(CancellationToken cancellationToken) =>
        _distribution ??= Own(await DistributionProcess.StartAsync(cancellationToken));

    public async Task<RegistryTarget> DistributionAsync(CancellationToken cancellationToken) =>
        (await DistributionProcessAsync(cancellationToken)).Target;

    /// <summary>Clients for our registry process and for Distribution, each with up to <paramref name="connections"/> connections.</summary>
    public async Task<ClientPair> ClientsAsync(int connections, CancellationToken cancellationToken)
    {
        var ours = await OursAsync(cancellationToken);
        var distribution = await DistributionAsync(cancellationToken);
        return new ClientPair(new OciClient(ours, connections), new OciClient(distribution, connections));
    }

    /// <summary>Stops <paramref name="resource"/> with everything else at the end of the run.</summary>
    public T Own<T>(T resource)
        where T : IAsyncDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    public async ValueTask DisposeAsync()
    {
        // Registries before the storage they use.
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
        _owned.Clear();
    }
}
