namespace Registry.Storage;

/// <summary>
/// An in-memory copy of something small an operator changes rarely (anonymous-pull patterns, immutability rules),
/// loaded from storage at most every <paramref name="interval"/>: a change made elsewhere (the admin CLI, another
/// instance) takes effect within that time, and most reads cost no storage call. After <see cref="Changed"/> (a
/// change through this instance) the next read loads again, even when a load begun before the change finishes after it.
/// </summary>
public sealed class RefreshingCopy<T>(Func<CancellationToken, Task<T>> load, TimeSpan interval, TimeProvider time) : IDisposable
    where T : class
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Loaded? _loaded;
    private int _generation;

    private sealed record Loaded(T Value, DateTimeOffset At, int Generation);

    public async ValueTask<T> GetAsync(CancellationToken cancellationToken)
    {
        if (_loaded is { } fresh && !IsStale(fresh))
        {
            return fresh.Value;
        }
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have loaded while this one waited.
            if (_loaded is { } reloaded && !IsStale(reloaded))
            {
                return reloaded.Value;
            }
            var generation = Volatile.Read(ref _generation);
            var at = time.GetUtcNow();
            var loaded = new Loaded(await load(cancellationToken), at, generation);
            _loaded = loaded;
            return loaded.Value;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>Marks the copy stale: call after every change made through this instance.</summary>
    public void Changed() => Interlocked.Increment(ref _generation);

    public void Dispose() => _refresh.Dispose();

    private bool IsStale(Loaded loaded) => loaded.Generation != Volatile.Read(ref _generation) || time.GetUtcNow() - loaded.At >= interval;
}
