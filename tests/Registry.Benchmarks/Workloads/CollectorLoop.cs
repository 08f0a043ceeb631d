using Registry.Collection;

namespace Registry.Benchmarks.Workloads;

/// <summary>What the runs of a <see cref="CollectorLoop"/> did.</summary>
internal sealed record LoopedRuns(int Runs, int ReviewsExamined, int LinksDeleted, int ContentDeleted, long StorageCalls);

/// <summary>
/// Collection runs back to back: each starts as soon as the last one ended, until the loop is stopped, which lets the
/// run under way finish. A run that fails ends the loop, and stopping it throws that failure.
/// </summary>
internal sealed class CollectorLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly StorageCallCounter _calls;
    private readonly long _callsBefore;
    private readonly Task _loop;
    private int _runs;
    private int _reviews;
    private int _links;
    private int _content;

    private CollectorLoop(Func<CancellationToken, Task<CollectionReport>> run, StorageCallCounter calls, CancellationToken cancellationToken)
    {
        _calls = calls;
        _callsBefore = calls.Total;
        _loop = Task.Run(() => LoopAsync(run, cancellationToken), CancellationToken.None);
    }

    /// <param name="run">One collection run.</param>
    /// <param name="calls">The collector's counter: the loop reports the calls it made from now on.</param>
    public static CollectorLoop Start(Func<CancellationToken, Task<CollectionReport>> run, StorageCallCounter calls, CancellationToken cancellationToken) =>
        new(run, calls, cancellationToken);

    public async Task<LoopedRuns> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        return new LoopedRuns(_runs, _reviews, _links, _content, _calls.Total - _callsBefore);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (Exception)
        {
            // Disposed on the way out of a failed measurement, whose own failure is the one to report.
        }
        _stop.Dispose();
    }

    private async Task LoopAsync(Func<CancellationToken, Task<CollectionReport>> run, CancellationToken cancellationToken)
    {
        while (!_stop.IsCancellationRequested)
        {
            var report = await run(cancellationToken);
            _runs++;
            _reviews += report.ReviewsExamined;
            _links += report.Count(CollectedKind.Link);
            _content += report.Count(CollectedKind.Content);
        }
    }
}
