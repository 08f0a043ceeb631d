using System.Diagnostics;

namespace Registry.Benchmarks.Processes;

internal static class HttpProbe
{
    /// <summary>
    /// Asks <paramref name="url"/> every few milliseconds until it answers with any HTTP status. Fails when the process
    /// exits or <paramref name="deadline"/> passes.
    /// </summary>
    public static async Task WaitForAnswerAsync(Uri url, ManagedProcess process, TimeSpan deadline, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2), PooledConnectionLifetime = TimeSpan.Zero };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Description} exited before answering {url}:\n{process.RecentOutput()}");
            }
            try
            {
                using var response = await client.GetAsync(url, cancellationToken);
                return;
            }
            catch (HttpRequestException) when (watch.Elapsed < deadline)
            {
                // Not listening yet.
            }
            catch (HttpRequestException e)
            {
                throw new TimeoutException($"{process.Description} did not answer {url} within {deadline}:\n{process.RecentOutput()}", e);
            }
            await Task.Delay(2, cancellationToken);
        }
    }
}
