using System.Diagnostics;

namespace Registry.Benchmarks.Load;

/// <summary>What a closed loop measured: how many requests finished, in what time, and each one's latency.</summary>
internal sealed record LoopResult(int Completed, TimeSpan Elapsed, double[] LatenciesMs)
{
    public double RequestsPerSecond => Completed / Elapsed.TotalSeconds;

    /// <summary>The latency below which <paramref name="fraction"/> of the requests finished (nearest rank).</summary>
    public double PercentileMs(double fraction) => Report.Stats.Percentile(LatenciesMs, fraction);
}

/// <summary>
/// A closed loop: <c>concurrency</c> workers each send the next request as soon as their last one answered, until
/// <c>requests</c> have been sent or the deadline passes. Bounded in count and in time.
/// </summary>
internal static class ClosedLoop
{
    public static async Task<LoopResult> RunAsync(
        int requests, int concurrency, TimeSpan deadline, Func<CancellationToken, Task> request, CancellationToken cancellationToken)
    {
        var latencies = new double[requests];
        var next = -1;
        var completed = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        var watch = Stopwatch.StartNew();

        async Task WorkerAsync()
        {
            while (!timeout.IsCancellationRequested)
            {
                var index = Interlocked.Increment(ref next);
                if (index >= requests)
                {
                    return;
                }
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await request(timeout.Token);
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    // The deadline: what finished before it is the measurement.
                    latencies[index] = double.NaN;
                    return;
                }
                latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Interlocked.Increment(ref completed);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkerAsync, CancellationToken.None)));
        var elapsed = watch.Elapsed;
        cancellationToken.ThrowIfCancellationRequested();
        var finished = latencies.Take(Math.Min(requests, next + 1)).Where(l => l > 0 && !double.IsNaN(l)).ToArray();
        if (completed == 0)
        {
            throw new TimeoutException($"no request finished within {deadline}");
        }
        return new LoopResult(completed, elapsed, finished);
    }
}
